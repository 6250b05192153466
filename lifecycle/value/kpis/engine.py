"""Business value's provider for the KPI engine: callers, calls and serving cost, read
from the serving rollups through the catalog's read model by the same functions the
value page uses (the page's tables and these KPIs share each read through the request)."""

from __future__ import annotations

from decimal import Decimal

from lifecycle.catalog.kpis import KpiRequest, kpi_provide
from lifecycle.value.kpis.calls import callers_count
from lifecycle.value.kpis.definitions import CALLS, MODEL_COST, UNIQUE_CALLERS
from lifecycle.value.kpis.report import request_calls_by, request_model_costs


def value_kpis_compute(request: KpiRequest) -> dict[str, int | Decimal]:
    scope = request.serving_scope()
    return {
        UNIQUE_CALLERS.id: callers_count(scope=scope),
        CALLS.id: sum(row.calls for row in request_calls_by(request, "caller")),
        # Over a scope of several models, their serving costs added up.
        MODEL_COST.id: sum((row.cost_usd for row in request_model_costs(request)), Decimal(0)),
    }


kpi_provide(
    name="value",
    ids=[UNIQUE_CALLERS.id, CALLS.id, MODEL_COST.id],
    compute=value_kpis_compute,
)
