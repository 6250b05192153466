"""Business-value KPI definitions. The numbers are read from the serving rollups by the
page that composes phases (`kpiboard.views.value`), as the portfolio's are."""

from __future__ import annotations

from dataclasses import dataclass

from lifecycle.catalog.kpis import Direction, Unit, kpi_define

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


@dataclass(frozen=True)
class CallCount:
    key: str
    calls: int
