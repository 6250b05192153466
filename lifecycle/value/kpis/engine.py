"""Business value's provider for the KPI engine: callers, calls and serving cost, read
from the serving rollups through the catalog's read model by the same functions the
value page uses."""

from __future__ import annotations

from decimal import Decimal

from lifecycle.catalog.kpis import KpiRequest, KpiRequestError, kpi_provide
from lifecycle.catalog.serving.scope import serving_scope
from lifecycle.value.kpis.calls import CALLS_BY, callers_count, calls_count
from lifecycle.value.kpis.costs import model_costs_sum
from lifecycle.value.kpis.definitions import CALLS, MODEL_COST, UNIQUE_CALLERS


def value_kpis_compute(request: KpiRequest) -> dict[str, int | Decimal]:
    scope, errors = serving_scope(request.query, now=request.now)
    if errors:
        raise KpiRequestError(errors)
    return {
        UNIQUE_CALLERS.id: callers_count(scope=scope),
        CALLS.id: sum(row.calls for row in calls_count(scope=scope, group_by=CALLS_BY["caller"])),
        # Over a scope of several models, their serving costs added up.
        MODEL_COST.id: sum((row.cost_usd for row in model_costs_sum(scope=scope)), Decimal(0)),
    }


kpi_provide(
    name="value",
    ids=[UNIQUE_CALLERS.id, CALLS.id, MODEL_COST.id],
    compute=value_kpis_compute,
)
