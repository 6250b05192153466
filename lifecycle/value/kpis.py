"""Business value: calls per caller, team and business unit, unique callers and serving
cost per model, read from the serving rollups (raw events only at a window's partial
hours): counted from raw events, 30 days at 50M events took over a minute."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.http import QueryDict

from lifecycle.catalog.kpis import Direction, KpiValue, Unit, kpi_define
from lifecycle.catalog.models import RegisteredModel
from lifecycle.catalog.serving.scope import ServingScope, raw_q, rollup_q, serving_scope
from lifecycle.catalog.serving.sums import serving_totals
from lifecycle.catalog.windows import TimeRange

PHASE = "value"

UNIQUE_CALLERS = kpi_define(
    id="unique_callers",
    phase=PHASE,
    label="Unique callers",
    unit=Unit.COUNT,
    direction=Direction.HIGHER_IS_BETTER,
    formula="Distinct non-empty caller ids among the inferences in the window.",
)
CALLS = kpi_define(
    id="calls",
    phase=PHASE,
    label="API calls",
    unit=Unit.COUNT,
    direction=Direction.NEUTRAL,
    formula="Inferences in the window attributed to a caller, team or business unit "
    "(events without a caller count as '(unknown)').",
)
MODEL_COST = kpi_define(
    id="model_serving_cost",
    phase=PHASE,
    label="Serving cost per model",
    unit=Unit.USD,
    direction=Direction.LOWER_IS_BETTER,
    formula="Per model, the sum of the cost of its inferences in the window: each event's "
    "own cost_usd, or the model's unit cost per prediction when it carries none.",
)

UNKNOWN = "(unknown)"
TOP_CALLERS = 50

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


@dataclass(frozen=True)
class ModelCost:
    model: str
    calls: int
    cost_usd: Decimal


@dataclass(frozen=True)
class ValueReport:
    """Everything the value page and its API answer, for one scope."""

    time_range: TimeRange
    kpis: list[KpiValue]
    by_caller: list[CallCount]
    by_team: list[CallCount]
    by_business_unit: list[CallCount]
    cost_by_model: list[ModelCost]


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


def model_costs_sum(*, scope: ServingScope) -> list[ModelCost]:
    """Inferences and serving cost per model, the costliest first."""
    totals = serving_totals(scope, group_by=["model"], sums=("inferences", "cost_usd"))
    names = dict(
        RegisteredModel.objects.filter(pk__in=[k for (k,) in totals]).values_list("pk", "name")
    )
    rows = [ModelCost(names[k], n, cost) for (k,), (n, cost) in totals.items()]
    return sorted(rows, key=lambda row: (-row.cost_usd, row.model))


def value_report(*, scope: ServingScope) -> ValueReport:
    by_caller = calls_count(scope=scope, group_by=CALLS_BY["caller"])
    return ValueReport(
        time_range=scope.time_range,
        kpis=[
            KpiValue(UNIQUE_CALLERS, callers_count(scope=scope)),
            KpiValue(CALLS, sum(row.calls for row in by_caller)),
        ],
        by_caller=by_caller[:TOP_CALLERS],
        by_team=calls_count(scope=scope, group_by=CALLS_BY["team"]),
        by_business_unit=calls_count(scope=scope, group_by=CALLS_BY["business_unit"]),
        cost_by_model=model_costs_sum(scope=scope),
    )


def value_report_read(
    *, params: QueryDict
) -> tuple[ValueReport | None, TimeRange, dict[str, list[str]]]:
    """The report of a request's filters (validated by the value filter set's dimensions),
    its window, and the filter errors (the report is None when there are any)."""
    scope, errors = serving_scope(params)
    if errors:
        return None, scope.time_range, errors
    return value_report(scope=scope), scope.time_range, {}
