"""Business-value KPIs: filtered serving events in, typed KPI values out."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from lifecycle.catalog.kpis import Direction, kpi_define
from lifecycle.catalog.models import ServingEvent

PHASE = "value"

UNIQUE_CALLERS = kpi_define(
    id="unique_callers",
    phase=PHASE,
    label="Unique callers",
    unit="count",
    direction=Direction.HIGHER_IS_BETTER,
    formula="Distinct non-empty caller ids among the inferences in the window.",
)
CALLS = kpi_define(
    id="calls",
    phase=PHASE,
    label="API calls",
    unit="count",
    direction=Direction.NEUTRAL,
    formula="Inferences in the window attributed to a caller, team or business unit "
    "(events without a caller count as '(unknown)').",
)


@dataclass(frozen=True)
class CallCount:
    key: str
    calls: int


def calls_by(events: QuerySet[ServingEvent], *, group_by: str) -> list[CallCount]:
    """Calls per value of `group_by` (caller, model__team__name, ...), most first."""
    rows = events.order_by().values(group_by).annotate(calls=Count("pk")).order_by("-calls")
    return [CallCount(row[group_by] or "(unknown)", row["calls"]) for row in rows]


def unique_callers(events: QuerySet[ServingEvent]) -> int:
    return events.exclude(caller="").order_by().values("caller").distinct().count()
