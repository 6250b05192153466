"""Business value's provider for the KPI engine: callers and calls, read from the
serving rollups through the catalog's read model."""

from __future__ import annotations

from lifecycle.catalog.kpis import KpiRequest, KpiRequestError, kpi_provide
from lifecycle.catalog.serving.scope import serving_scope
from lifecycle.catalog.serving.sums import serving_totals
from lifecycle.value.kpis import CALLS, UNIQUE_CALLERS


def value_kpis_compute(request: KpiRequest) -> dict[str, int]:
    scope, errors = serving_scope(request.query, now=request.now)
    if errors:
        raise KpiRequestError(errors)
    by_caller = serving_totals(scope, group_by=["caller"], sums=("inferences",))
    return {
        UNIQUE_CALLERS.id: len({caller for (caller,) in by_caller if caller}),
        CALLS.id: sum(int(sums[0]) for sums in by_caller.values()),
    }


kpi_provide(name="value", ids=[UNIQUE_CALLERS.id, CALLS.id], compute=value_kpis_compute)
