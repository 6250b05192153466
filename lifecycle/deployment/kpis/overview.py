"""The deployment phase for one request: its KPIs (through the KPI engine) and the
breakdowns beside them. The page and `GET /api/v1/kpis/deployment/` both show
`deployment_overview`, so a URL means the same numbers in either place."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from lifecycle.catalog.kpis import KpiRequest, KpiValue, kpi_values
from lifecycle.catalog.windows import TimeRange
from lifecycle.deployment.kpis.delivery import new_models_by_month
from lifecycle.deployment.kpis.endpoints import Comparison, champion_challenger
from lifecycle.deployment.kpis.engine import DEPLOYMENT_KPI_IDS
from lifecycle.deployment.kpis.inputs import deployment_inputs
from lifecycle.deployment.kpis.milestones import time_to_deploy_by


@dataclass
class DeploymentOverview:
    time_range: TimeRange
    failure_days: int
    kpis: list[KpiValue]
    time_to_deploy_by: dict[str, pd.DataFrame] = field(default_factory=dict)
    new_models_by_month: pd.DataFrame | None = None
    traffic_split: pd.DataFrame | None = None
    comparisons: list[Comparison] = field(default_factory=list)


def deployment_overview(request: KpiRequest) -> DeploymentOverview:
    """The deployment KPIs and breakdowns of `request` (raises KpiRequestError for a
    filter that cannot be read)."""
    inputs = deployment_inputs(request)
    time_range = inputs.time_range
    return DeploymentOverview(
        time_range=time_range,
        failure_days=inputs.failure_days,
        kpis=kpi_values(DEPLOYMENT_KPI_IDS, request),
        time_to_deploy_by={
            by: time_to_deploy_by(inputs.milestones, by=by, time_range=time_range)
            for by in ("model", "team", "industry")
        }
        # The monthly trend looks past the window: a trend needs several months.
        | {"month": time_to_deploy_by(inputs.milestones, by="month")},
        new_models_by_month=new_models_by_month(inputs.unwindowed),
        traffic_split=inputs.traffic_split,
        comparisons=champion_challenger(inputs.deployments, time_range=time_range),
    )
