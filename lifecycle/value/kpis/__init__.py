"""Business value: calls per caller, team and business unit, unique callers and serving
cost per model, read from the serving rollups (raw events only at a window's partial
hours): counted from raw events, 30 days at 50M events took over a minute. The only
place the business value phase's KPI maths lives.

definitions: every KPI, declared once · calls: calls by caller, team and business unit,
unique callers · costs: serving cost per model · report: the page's and the API's report
· engine: the phase's provider for the catalog's KPI engine (registered by the app's
`ready()`). Import from this package.
"""

from lifecycle.value.kpis.calls import CALLS_BY, CallCount, callers_count, calls_count
from lifecycle.value.kpis.costs import ModelCost, model_costs_sum
from lifecycle.value.kpis.definitions import CALLS, MODEL_COST, PHASE, UNIQUE_CALLERS
from lifecycle.value.kpis.report import ValueReport, value_report

__all__ = [
    "CALLS",
    "CALLS_BY",
    "MODEL_COST",
    "PHASE",
    "UNIQUE_CALLERS",
    "CallCount",
    "ModelCost",
    "ValueReport",
    "callers_count",
    "calls_count",
    "model_costs_sum",
    "value_report",
]
