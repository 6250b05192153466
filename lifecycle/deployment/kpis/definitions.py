"""Every deployment KPI, defined once; and the value type that carries bounds."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
from django.conf import settings

from lifecycle.catalog.kpis import Direction, KpiValue, Unit, kpi_define

PHASE = "deployment"
DAY = pd.Timedelta(days=1)

MODELS_IN_PRODUCTION = kpi_define(
    id="models_in_production",
    phase=PHASE,
    label="Models in production",
    unit=Unit.COUNT,
    direction=Direction.HIGHER_IS_BETTER,
    formula="Distinct models with at least one version deployed in the production role "
    "at any moment of the window.",
)
TIME_TO_DEPLOY_MEDIAN = kpi_define(
    id="time_to_deploy_days_median",
    phase=PHASE,
    label="Time to deploy (median)",
    unit=Unit.DAYS,
    direction=Direction.LOWER_IS_BETTER,
    formula="Median, over the versions that first reached production in the window, of the "
    "days from registration to the earlier of their first production deployment and their "
    "first production traffic (shadow copies excluded). A deployment seen by a registry "
    "poll is known only between two polls: low and high bound the median.",
)
TIME_TO_DEPLOY_MEAN = kpi_define(
    id="time_to_deploy_days_mean",
    phase=PHASE,
    label="Time to deploy (mean)",
    unit=Unit.DAYS,
    direction=Direction.LOWER_IS_BETTER,
    formula="Mean of the same per-version days as the median time to deploy; low and high "
    "bound it when deployment times come from polls.",
)
LEAD_TIME_TRAINING = kpi_define(
    id="lead_time_training_to_registered_days_median",
    phase=PHASE,
    label="Training end to registered (median)",
    unit=Unit.DAYS,
    direction=Direction.LOWER_IS_BETTER,
    formula="Median days from the end of a version's training run to its registration, over "
    "the versions registered in the window whose run end is known.",
)
LEAD_TIME_PROMOTION = kpi_define(
    id="lead_time_registered_to_promoted_days_median",
    phase=PHASE,
    label="Registered to promoted (median)",
    unit=Unit.DAYS,
    direction=Direction.LOWER_IS_BETTER,
    formula="Median days from registration to the first promotion (production alias or "
    "stage, or a pushed promoted event), over the versions first promoted in the window.",
)
LEAD_TIME_TRAFFIC = kpi_define(
    id="lead_time_promoted_to_traffic_days_median",
    phase=PHASE,
    label="Promoted to first traffic (median)",
    unit=Unit.DAYS,
    direction=Direction.LOWER_IS_BETTER,
    formula="Median days from the first promotion to the first production serving event, "
    "over the versions whose first production traffic was in the window.",
)
DEPLOYMENTS = kpi_define(
    id="production_deployments",
    phase=PHASE,
    label="Production deployments",
    unit=Unit.COUNT,
    # As its frequency per week: more, smaller changes are the healthier delivery.
    direction=Direction.HIGHER_IS_BETTER,
    formula="Deployments in the production role that started in the window.",
)
DEPLOYMENT_FREQUENCY = kpi_define(
    id="deployment_frequency_per_week",
    phase=PHASE,
    label="Deployment frequency",
    unit=Unit.PER_WEEK,
    direction=Direction.HIGHER_IS_BETTER,
    formula="Production deployments started in the window divided by its length in weeks.",
)
CHANGE_FAILURE_RATE = kpi_define(
    id="change_failure_rate",
    phase=PHASE,
    label="Change-failure rate",
    unit=Unit.FRACTION,
    direction=Direction.LOWER_IS_BETTER,
    formula="Failed changes over all changes started in the window. A change is a production "
    "deployment or a failed deployment attempt; it failed when the attempt failed, or the "
    "deployment was rolled back or replaced within the failure horizon (days), or its error "
    "rate or p95 latency breached the model's SLA within that horizon.",
)
TIME_TO_RESTORE = kpi_define(
    id="time_to_restore_hours_median",
    phase=PHASE,
    label="Time to restore (median)",
    unit=Unit.HOURS,
    direction=Direction.LOWER_IS_BETTER,
    formula="Median hours from the start of a failed production deployment to its "
    "replacement (rollback or fix), over failed deployments started in the window that "
    "have been replaced.",
)
NEW_MODELS_DEPLOYED = kpi_define(
    id="new_models_deployed",
    phase=PHASE,
    label="New models deployed",
    unit=Unit.COUNT,
    direction=Direction.HIGHER_IS_BETTER,
    formula="Models whose first production deployment ever started in the window.",
)
FAILED_DEPLOYMENTS = kpi_define(
    id="failed_deployments",
    phase=PHASE,
    label="Failed deployments",
    unit=Unit.COUNT,
    direction=Direction.LOWER_IS_BETTER,
    formula="In the window: deployment attempts reported failed, production deployments of "
    "a version other than the one last promoted, and production deployments followed by "
    "errors of class deployment within the roll-out minutes after their start.",
)
ROLLBACKS = kpi_define(
    id="rollbacks",
    phase=PHASE,
    label="Rollbacks",
    unit=Unit.COUNT,
    direction=Direction.LOWER_IS_BETTER,
    formula="Production deployments started in the window that were rollbacks: reported as "
    "such, or replacing a version registered later than their own.",
)
VERSIONS_IN_SHADOW = kpi_define(
    id="versions_in_shadow",
    phase=PHASE,
    label="Versions in shadow",
    unit=Unit.COUNT,
    direction=Direction.NEUTRAL,
    formula="Distinct versions deployed in the shadow role at any moment of the window.",
)
VERSIONS_IN_CANARY = kpi_define(
    id="versions_in_canary",
    phase=PHASE,
    label="Versions in canary",
    unit=Unit.COUNT,
    direction=Direction.NEUTRAL,
    formula="Distinct versions deployed in the canary role at any moment of the window.",
)
MULTI_MODEL_ENDPOINTS = kpi_define(
    id="multi_model_endpoints",
    phase=PHASE,
    label="Multi-model endpoints",
    unit=Unit.COUNT,
    direction=Direction.NEUTRAL,
    formula="Endpoints on which versions of two or more models were deployed at some moment "
    "of the window.",
)


@dataclass(frozen=True)
class IntervalKpiValue(KpiValue):
    """A KPI value with the lowest and highest value the uncertain inputs allow."""

    low: float | None = None
    high: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "low": self.low, "high": self.high}


def number_or_none(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def settings_failure_days() -> int:
    return settings.KPIBOARD_CHANGE_FAILURE_DAYS


def settings_rollout_minutes() -> int:
    return settings.KPIBOARD_ROLLOUT_ERROR_MINUTES
