"""Deployment KPIs: deployments in, typed KPI values out."""

from __future__ import annotations

from django.db.models import QuerySet

from lifecycle.catalog.kpis import Direction, KpiValue, kpi_define
from lifecycle.catalog.models import Deployment, DeploymentRole
from lifecycle.catalog.windows import TimeRange

PHASE = "deployment"

MODELS_IN_PRODUCTION = kpi_define(
    id="models_in_production",
    phase=PHASE,
    label="Models in production",
    unit="count",
    direction=Direction.HIGHER_IS_BETTER,
    formula="Distinct models with at least one version deployed in the production role "
    "at any moment of the window.",
)


def production_model_ids(deployments: QuerySet[Deployment], *, time_range: TimeRange) -> set[int]:
    """Ids of the models with a production deployment active in the window."""
    active = deployments.active_between(time_range.start, time_range.end).filter(
        role=DeploymentRole.PRODUCTION
    )
    return set(active.values_list("model_version__model_id", flat=True).distinct())


def models_in_production(deployments: QuerySet[Deployment], *, time_range: TimeRange) -> KpiValue:
    return KpiValue(
        MODELS_IN_PRODUCTION, len(production_model_ids(deployments, time_range=time_range))
    )
