"""Calls per caller, team and business unit, and unique callers, read from the serving
rollups through the catalog's read model."""

from __future__ import annotations

from dataclasses import dataclass

from lifecycle.catalog.serving.scope import ServingScope, raw_q, rollup_q
from lifecycle.catalog.serving.sums import serving_totals

UNKNOWN = "(unknown)"

# The breakdowns of calls, by the rollup field each is grouped on.
CALLS_BY = {
    "caller": "caller",
    "team": "model__team__name",
    "business_unit": "model__team__business_unit",
}


@dataclass(frozen=True)
class CallCount:
    key: str
    calls: int


def calls_count(*, scope: ServingScope, group_by: str) -> list[CallCount]:
    """Inferences per value of `group_by` (a field of `CALLS_BY`), most first; an event
    with no caller (or a model with no team) counts under "(unknown)"."""
    counted: dict[str, int] = {}
    for (value,), (n,) in serving_totals(scope, group_by=[group_by], sums=("inferences",)).items():
        name = UNKNOWN if value is None or value == "" else str(value)
        counted[name] = counted.get(name, 0) + n
    ranked = sorted(counted.items(), key=lambda item: (-item[1], item[0]))
    return [CallCount(key, n) for key, n in ranked]


def callers_count(*, scope: ServingScope) -> int:
    """Distinct non-empty callers among the inferences the scope selects."""
    callers: set[str] = set()
    for rows, where in ((scope.rollups, rollup_q(scope)), (scope.events, raw_q(scope))):
        if where is not None:
            named = rows.filter(where).exclude(caller="").order_by()
            callers.update(named.values_list("caller", flat=True).distinct())
    return len(callers)
