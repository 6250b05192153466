"""The business value phase's KPI definitions: what each calls, callers and cost number
means, in words."""

from __future__ import annotations

from lifecycle.catalog.kpis import Direction, Unit, kpi_define

PHASE = "value"

UNIQUE_CALLERS = kpi_define(
    id="unique_callers",
    phase=PHASE,
    label="Unique callers",
    unit=Unit.COUNT,
    direction=Direction.HIGHER_IS_BETTER,
    formula="Distinct non-empty caller ids among the inferences in the window (shadow "
    "copies left out: a copy is not a call).",
)
CALLS = kpi_define(
    id="calls",
    phase=PHASE,
    label="API calls",
    unit=Unit.COUNT,
    direction=Direction.NEUTRAL,
    formula="Inferences in the window attributed to a caller, team or business unit "
    "(events without a caller count as '(unknown)'). A shadow copy of a request is not a "
    "call and is not counted.",
)
MODEL_COST = kpi_define(
    id="model_serving_cost",
    phase=PHASE,
    label="Serving cost per model",
    unit=Unit.USD,
    direction=Direction.LOWER_IS_BETTER,
    formula="Per model, the sum of the cost of its inferences in the window: each event's "
    "own cost_usd, or the model's unit cost per prediction when it carries none. Shadow "
    "copies are left out (their cost is monitoring's shadow_cost_usd).",
)
