"""The deployment phase for one set of filters: what the page and the KPI API show.

Both call `deployment_overview`, so a URL means the same numbers in either place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from django.http import QueryDict
from django.utils import timezone

from lifecycle.catalog.filtersets import DeploymentFilterSet
from lifecycle.catalog.kpis import KpiValue
from lifecycle.catalog.models import Deployment, ModelVersion
from lifecycle.catalog.windows import TimeRange
from lifecycle.deployment.filtersets import DeploymentWindowFilterSet, VersionMilestoneFilterSet
from lifecycle.deployment.kpis import (
    Comparison,
    champion_challenger,
    delivery_report,
    lead_times,
    models_in_production,
    multi_model_endpoints,
    new_models_by_month,
    new_models_deployed,
    settings_failure_days,
    time_to_deploy,
    time_to_deploy_by,
    traffic_split,
    version_milestones,
    versions_in_roles,
)

MAX_FAILURE_DAYS = 365


@dataclass
class DeploymentOverview:
    time_range: TimeRange
    failure_days: int = 7
    kpis: list[KpiValue] = field(default_factory=list)
    time_to_deploy_by: dict[str, pd.DataFrame] = field(default_factory=dict)
    new_models_by_month: pd.DataFrame | None = None
    traffic_split: pd.DataFrame | None = None
    comparisons: list[Comparison] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)


def _failure_days(params: QueryDict) -> int | str:
    raw = params.get("failure_days")
    if raw in (None, ""):
        return settings_failure_days()
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_FAILURE_DAYS:
        return f"a whole number of days from 1 to {MAX_FAILURE_DAYS}"
    return int(raw)


def deployment_overview(
    params: QueryDict, *, now: datetime | None = None, kpis_only: bool = False
) -> DeploymentOverview:
    """The deployment KPIs and breakdowns for `params`, the window ending at `now` (the
    current time when not given); with `kpis_only`, the KPIs alone (the KPI engine's)."""
    now = now or timezone.now()
    deployments_filter = DeploymentWindowFilterSet(
        params, queryset=Deployment.objects.all(), now=now
    )
    versions_filter = VersionMilestoneFilterSet(
        params, queryset=ModelVersion.objects.all(), now=now
    )
    time_range = deployments_filter.time_range
    failure_days = _failure_days(params)
    errors = {**deployments_filter.errors, **versions_filter.errors}
    if isinstance(failure_days, str):
        errors["failure_days"] = [failure_days]
    if errors:
        return DeploymentOverview(time_range=time_range, errors=dict(errors))
    # Failures and rollbacks look at deployments that started in the window, and those
    # may have ended before it: start from all deployments narrowed by the dimensions only.
    unwindowed = DeploymentFilterSet(params, queryset=Deployment.objects.all(), now=now).qs
    deployments = deployments_filter.qs
    milestones = version_milestones(versions_filter.qs)
    delivery = delivery_report(unwindowed, time_range=time_range, failure_days=failure_days)
    split = traffic_split(deployments, time_range=time_range)
    kpis = [
        models_in_production(deployments, time_range=time_range),
        *time_to_deploy(milestones, time_range=time_range),
        *lead_times(milestones, time_range=time_range),
        *delivery.kpis,
        new_models_deployed(unwindowed, time_range=time_range),
        *versions_in_roles(deployments, time_range=time_range),
        multi_model_endpoints(split),
    ]
    if kpis_only:
        return DeploymentOverview(time_range=time_range, failure_days=failure_days, kpis=kpis)
    return DeploymentOverview(
        time_range=time_range,
        failure_days=failure_days,
        kpis=kpis,
        time_to_deploy_by={
            by: time_to_deploy_by(milestones, by=by, time_range=time_range)
            for by in ("model", "team", "industry")
        }
        # The monthly trend looks past the window: a trend needs several months.
        | {"month": time_to_deploy_by(milestones, by="month")},
        new_models_by_month=new_models_by_month(unwindowed),
        traffic_split=split,
        comparisons=champion_challenger(deployments, time_range=time_range),
    )
