"""Deployment's provider for the KPI engine: every deployment KPI from one pass over the
request's versions, deployments and ledger (the same pass the page and API make)."""

from __future__ import annotations

from lifecycle.catalog.kpis import (
    KPI_DEFINITIONS,
    KpiRequest,
    KpiRequestError,
    KpiValue,
    kpi_provide,
)
from lifecycle.deployment.kpis.definitions import PHASE
from lifecycle.deployment.overview import deployment_overview


def deployment_kpis_compute(request: KpiRequest) -> dict[str, KpiValue]:
    overview = deployment_overview(request.query, now=request.now, kpis_only=True)
    if overview.errors:
        raise KpiRequestError(overview.errors)
    return {kpi.definition.id: kpi for kpi in overview.kpis}


kpi_provide(
    name="deployment",
    ids=[d.id for d in KPI_DEFINITIONS.values() if d.phase == PHASE],
    compute=deployment_kpis_compute,
)
