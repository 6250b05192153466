"""What every deployment KPI and breakdown of one request reads: the request's
deployments, versions and their milestones, read once and kept on the request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import pandas as pd
from django.db.models import QuerySet

from lifecycle.catalog.filtersets import DeploymentFilterSet
from lifecycle.catalog.kpis import KpiRequest, KpiRequestError
from lifecycle.catalog.models import Deployment, ModelVersion
from lifecycle.catalog.windows import TimeRange
from lifecycle.deployment.filtersets import DeploymentWindowFilterSet, VersionMilestoneFilterSet
from lifecycle.deployment.kpis.definitions import settings_failure_days
from lifecycle.deployment.kpis.delivery import DeliveryReport, delivery_report
from lifecycle.deployment.kpis.endpoints import traffic_split
from lifecycle.deployment.kpis.milestones import production_model_ids, version_milestones

MAX_FAILURE_DAYS = 365


def failure_days_read(raw: str | None) -> int:
    """The change-failure horizon a request asks for (`failure_days`), else the setting."""
    if raw in (None, ""):
        return settings_failure_days()
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_FAILURE_DAYS:
        raise KpiRequestError(
            {"failure_days": [f"a whole number of days from 1 to {MAX_FAILURE_DAYS}"]}
        )
    return int(raw)


@dataclass
class DeploymentInputs:
    time_range: TimeRange
    failure_days: int
    # Deployments that served at any moment of the window.
    deployments: QuerySet[Deployment]
    # Narrowed by the dimensions only: failures and rollbacks look at deployments that
    # started in the window, and those may have ended before it.
    unwindowed: QuerySet[Deployment]
    versions: QuerySet[ModelVersion]
    # The versions' milestones do not depend on the window: read once for a request and
    # the periods cut from it (its previous period, a series' buckets).
    milestones_read: Callable[[], pd.DataFrame]

    @cached_property
    def production_model_ids(self) -> set[int]:
        """The models with a production deployment active in the window (the KPI, the
        portfolio's rows and the model API's `in_production` read it once)."""
        return production_model_ids(self.deployments, time_range=self.time_range)

    @cached_property
    def milestones(self) -> pd.DataFrame:
        return self.milestones_read()

    @cached_property
    def delivery(self) -> DeliveryReport:
        return delivery_report(
            self.unwindowed, time_range=self.time_range, failure_days=self.failure_days
        )

    @cached_property
    def traffic_split(self) -> pd.DataFrame:
        return traffic_split(self.deployments, time_range=self.time_range)


def deployment_inputs(request: KpiRequest) -> DeploymentInputs:
    """The deployment inputs of `request` (raises KpiRequestError for a filter the
    deployment FilterSets cannot read), built once per request."""
    return request.remember(("deployment", "inputs"), lambda: _deployment_inputs_read(request))


def _deployment_inputs_read(request: KpiRequest) -> DeploymentInputs:
    deployments = DeploymentWindowFilterSet(
        request.query, queryset=Deployment.objects.all(), now=request.now
    )
    versions = VersionMilestoneFilterSet(
        request.query, queryset=ModelVersion.objects.all(), now=request.now
    )
    errors = {**deployments.errors, **versions.errors}
    try:
        failure_days = failure_days_read(request.get("failure_days"))
    except KpiRequestError as error:
        errors.update(error.errors)
    if errors:
        raise KpiRequestError(errors)
    return DeploymentInputs(
        time_range=request.time_range,
        failure_days=failure_days,
        deployments=deployments.qs,
        unwindowed=DeploymentFilterSet(
            request.query, queryset=Deployment.objects.all(), now=request.now
        ).qs,
        versions=versions.qs,
        milestones_read=lambda: request.remember_unwindowed(
            ("deployment", "milestones"), lambda: version_milestones(versions.qs)
        ),
    )
