"""Deployment KPIs: filtered versions, deployments and ledger entries in, typed KPI values
out. The only place the deployment phase's KPI maths lives.

Times that come from a registry poll are known only within an interval, so the KPIs
built on them are `IntervalKpiValue`s: the value and the lowest and highest it could be.
A version's milestones (registered, promoted, first production deployment, first
production traffic) are gathered once per request by `version_milestones`; the KPIs are
pandas over that small table.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db.models import Count, Min, Q, QuerySet

from lifecycle.catalog.kpis import Direction, KpiValue, kpi_define
from lifecycle.catalog.models import (
    Deployment,
    DeploymentRole,
    EventStatus,
    FailureClass,
    Label,
    ModelVersion,
    ServingEvent,
)
from lifecycle.catalog.windows import TimeRange
from lifecycle.deployment.models import (
    DEPLOYING_KINDS,
    ChangeKind,
    LifecycleChange,
    RegistryVersionState,
)

PHASE = "deployment"
DAY = pd.Timedelta(days=1)

MODELS_IN_PRODUCTION = kpi_define(
    id="models_in_production",
    phase=PHASE,
    label="Models in production",
    unit="count",
    direction=Direction.HIGHER_IS_BETTER,
    formula="Distinct models with at least one version deployed in the production role "
    "at any moment of the window.",
)
TIME_TO_DEPLOY_MEDIAN = kpi_define(
    id="time_to_deploy_days_median",
    phase=PHASE,
    label="Time to deploy (median)",
    unit="days",
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
    unit="days",
    direction=Direction.LOWER_IS_BETTER,
    formula="Mean of the same per-version days as the median time to deploy; low and high "
    "bound it when deployment times come from polls.",
)
LEAD_TIME_TRAINING = kpi_define(
    id="lead_time_training_to_registered_days_median",
    phase=PHASE,
    label="Training end to registered (median)",
    unit="days",
    direction=Direction.LOWER_IS_BETTER,
    formula="Median days from the end of a version's training run to its registration, over "
    "the versions registered in the window whose run end is known.",
)
LEAD_TIME_PROMOTION = kpi_define(
    id="lead_time_registered_to_promoted_days_median",
    phase=PHASE,
    label="Registered to promoted (median)",
    unit="days",
    direction=Direction.LOWER_IS_BETTER,
    formula="Median days from registration to the first promotion (production alias or "
    "stage, or a pushed promoted event), over the versions first promoted in the window.",
)
LEAD_TIME_TRAFFIC = kpi_define(
    id="lead_time_promoted_to_traffic_days_median",
    phase=PHASE,
    label="Promoted to first traffic (median)",
    unit="days",
    direction=Direction.LOWER_IS_BETTER,
    formula="Median days from the first promotion to the first production serving event, "
    "over the versions whose first production traffic was in the window.",
)
DEPLOYMENTS = kpi_define(
    id="production_deployments",
    phase=PHASE,
    label="Production deployments",
    unit="count",
    direction=Direction.NEUTRAL,
    formula="Deployments in the production role that started in the window.",
)
DEPLOYMENT_FREQUENCY = kpi_define(
    id="deployment_frequency_per_week",
    phase=PHASE,
    label="Deployment frequency",
    unit="1/week",
    direction=Direction.HIGHER_IS_BETTER,
    formula="Production deployments started in the window divided by its length in weeks.",
)
CHANGE_FAILURE_RATE = kpi_define(
    id="change_failure_rate",
    phase=PHASE,
    label="Change-failure rate",
    unit="fraction",
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
    unit="hours",
    direction=Direction.LOWER_IS_BETTER,
    formula="Median hours from the start of a failed production deployment to its "
    "replacement (rollback or fix), over failed deployments started in the window that "
    "have been replaced.",
)
NEW_MODELS_DEPLOYED = kpi_define(
    id="new_models_deployed",
    phase=PHASE,
    label="New models deployed",
    unit="count",
    direction=Direction.HIGHER_IS_BETTER,
    formula="Models whose first production deployment ever started in the window.",
)
FAILED_DEPLOYMENTS = kpi_define(
    id="failed_deployments",
    phase=PHASE,
    label="Failed deployments",
    unit="count",
    direction=Direction.LOWER_IS_BETTER,
    formula="In the window: deployment attempts reported failed, production deployments of "
    "a version other than the one last promoted, and production deployments followed by "
    "errors of class deployment within the roll-out minutes after their start.",
)
ROLLBACKS = kpi_define(
    id="rollbacks",
    phase=PHASE,
    label="Rollbacks",
    unit="count",
    direction=Direction.LOWER_IS_BETTER,
    formula="Production deployments started in the window that were rollbacks: reported as "
    "such, or replacing a version registered later than their own.",
)
VERSIONS_IN_SHADOW = kpi_define(
    id="versions_in_shadow",
    phase=PHASE,
    label="Versions in shadow",
    unit="count",
    direction=Direction.NEUTRAL,
    formula="Distinct versions deployed in the shadow role at any moment of the window.",
)
VERSIONS_IN_CANARY = kpi_define(
    id="versions_in_canary",
    phase=PHASE,
    label="Versions in canary",
    unit="count",
    direction=Direction.NEUTRAL,
    formula="Distinct versions deployed in the canary role at any moment of the window.",
)
MULTI_MODEL_ENDPOINTS = kpi_define(
    id="multi_model_endpoints",
    phase=PHASE,
    label="Multi-model endpoints",
    unit="count",
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


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def settings_failure_days() -> int:
    return int(getattr(settings, "KPIBOARD_CHANGE_FAILURE_DAYS", 7))


def settings_rollout_minutes() -> int:
    return int(getattr(settings, "KPIBOARD_ROLLOUT_ERROR_MINUTES", 60))


# --- models in production ------------------------------------------------------------


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


# --- milestones per version ----------------------------------------------------------

MILESTONE_COLUMNS = [
    "version_id",
    "model_id",
    "model",
    "version",
    "team",
    "industry",
    "registered_at",
    "run_ended_at",
    "promoted_at",
    "promoted_low",
    "deployed_at",
    "deployed_low",
    "first_traffic_at",
]


def _first_traffic(version: ModelVersion, shadows: list[tuple]) -> datetime | None:
    """The version's earliest serving event that is not a shadow copy."""
    events = ServingEvent.objects.filter(model_id=version.model_id, model_version=version)
    for endpoint_id, started, ended in shadows:
        window = Q(endpoint_id=endpoint_id, timestamp__gte=started)
        if ended is not None:
            window &= Q(timestamp__lt=ended)
        events = events.exclude(window)
    return events.order_by("timestamp").values_list("timestamp", flat=True).first()


def version_milestones(versions: QuerySet[ModelVersion]) -> pd.DataFrame:
    """One row per version: registered, run end, first promotion (and its lower bound),
    first production deployment (and its lower bound), first production traffic."""
    rows = list(versions.select_related("model__team", "model__industry").order_by("pk"))
    if not rows:
        return pd.DataFrame(columns=MILESTONE_COLUMNS)
    changes = LifecycleChange.objects.current().filter(model_version__in=versions)
    promoted = {
        r["model_version_id"]: r
        for r in changes.promotions()
        .values("model_version_id")
        .annotate(at=Min("happened_before"), low=Min("happened_after"))
    }
    production = Deployment.objects.filter(
        model_version__in=versions, role=DeploymentRole.PRODUCTION
    )
    deployed: dict[int, list[datetime]] = {}
    linked = {
        c["deployment_id"]: c["low"]
        for c in changes.filter(kind__in=DEPLOYING_KINDS, deployment__isnull=False)
        .values("deployment_id")
        .annotate(low=Min("happened_after"))
    }
    for pk, version_id, started in production.values_list("pk", "model_version_id", "started_at"):
        low = min(started, linked.get(pk, started))
        at, lowest = deployed.get(version_id, [started, low])
        deployed[version_id] = [min(at, started), min(lowest, low)]
    shadows: dict[int, list[tuple]] = {}
    for version_id, endpoint_id, started, ended in Deployment.objects.filter(
        model_version__in=versions, role=DeploymentRole.SHADOW
    ).values_list("model_version_id", "endpoint_id", "started_at", "ended_at"):
        shadows.setdefault(version_id, []).append((endpoint_id, started, ended))
    run_ended = dict(
        RegistryVersionState.objects.filter(
            model_version__in=versions, run_ended_at__isnull=False
        ).values_list("model_version_id", "run_ended_at")
    )
    for version_id, detail in changes.filter(kind=ChangeKind.REGISTERED).values_list(
        "model_version_id", "detail"
    ):
        stamp = (detail or {}).get("run_ended_at")
        if stamp:
            run_ended.setdefault(version_id, datetime.fromisoformat(stamp))

    records = []
    for version in rows:
        promo = promoted.get(version.pk)
        deploy = deployed.get(version.pk)
        records.append(
            {
                "version_id": version.pk,
                "model_id": version.model_id,
                "model": version.model.name,
                "version": version.version,
                "team": version.model.team.name,
                "industry": version.model.industry.name,
                "registered_at": version.registered_at,
                "run_ended_at": run_ended.get(version.pk),
                "promoted_at": promo["at"] if promo else None,
                "promoted_low": promo["low"] if promo else None,
                "deployed_at": deploy[0] if deploy else None,
                "deployed_low": deploy[1] if deploy else None,
                "first_traffic_at": _first_traffic(version, shadows.get(version.pk, [])),
            }
        )
    frame = pd.DataFrame.from_records(records, columns=MILESTONE_COLUMNS)
    for column in MILESTONE_COLUMNS[6:]:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def time_to_deploy_frame(milestones: pd.DataFrame) -> pd.DataFrame:
    """Per version that reached production: when, and the days it took (with bounds)."""
    frame = milestones.copy()
    frame["production_at"] = frame[["deployed_at", "first_traffic_at"]].min(axis=1)
    frame["production_low"] = frame[["deployed_low", "first_traffic_at"]].min(axis=1)
    frame = frame[frame["production_at"].notna()].copy()
    frame["days"] = (frame["production_at"] - frame["registered_at"]) / DAY
    frame["days_low"] = (frame["production_low"] - frame["registered_at"]) / DAY
    frame["month"] = frame["production_at"].dt.strftime("%Y-%m")
    return frame


def _in_window(frame: pd.DataFrame, column: str, time_range: TimeRange) -> pd.DataFrame:
    start, end = pd.Timestamp(time_range.start), pd.Timestamp(time_range.end)
    return frame[(frame[column] >= start) & (frame[column] < end)]


def time_to_deploy(milestones: pd.DataFrame, *, time_range: TimeRange) -> list[IntervalKpiValue]:
    """Median and mean time to deploy of the versions that reached production in the
    window; the low bound uses each poll interval's start, the high its end."""
    frame = _in_window(time_to_deploy_frame(milestones), "production_at", time_range)
    if frame.empty:
        return [
            IntervalKpiValue(TIME_TO_DEPLOY_MEDIAN, None),
            IntervalKpiValue(TIME_TO_DEPLOY_MEAN, None),
        ]
    return [
        IntervalKpiValue(
            TIME_TO_DEPLOY_MEDIAN,
            float(frame["days"].median()),
            low=float(frame["days_low"].median()),
            high=float(frame["days"].median()),
        ),
        IntervalKpiValue(
            TIME_TO_DEPLOY_MEAN,
            float(frame["days"].mean()),
            low=float(frame["days_low"].mean()),
            high=float(frame["days"].mean()),
        ),
    ]


def time_to_deploy_by(
    milestones: pd.DataFrame, *, by: str, time_range: TimeRange | None = None
) -> pd.DataFrame:
    """Time to deploy per model, team, industry or month: versions, median, mean, the
    bounds of the median, and the individual days (for a distribution chart)."""
    if by not in ("model", "team", "industry", "month"):
        raise ValueError(f"cannot group time to deploy by {by!r}")
    frame = time_to_deploy_frame(milestones)
    if time_range is not None:
        frame = _in_window(frame, "production_at", time_range)
    columns = [by, "versions", "median_days", "mean_days", "median_low_days", "days"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    grouped = frame.groupby(by)
    result = pd.DataFrame(
        {
            "versions": grouped["days"].count(),
            "median_days": grouped["days"].median(),
            "mean_days": grouped["days"].mean(),
            "median_low_days": grouped["days_low"].median(),
            "days": grouped["days"].apply(list),
        }
    ).reset_index()
    return result[columns].sort_values(by).reset_index(drop=True)


def lead_times(milestones: pd.DataFrame, *, time_range: TimeRange) -> list[IntervalKpiValue]:
    """The three steps of the lead time, each over the versions whose step ended in the
    window."""
    frame = milestones
    training = _in_window(frame[frame["run_ended_at"].notna()], "registered_at", time_range)
    training_days = (training["registered_at"] - training["run_ended_at"]) / DAY
    promoted = _in_window(frame[frame["promoted_at"].notna()], "promoted_at", time_range)
    promotion_days = (promoted["promoted_at"] - promoted["registered_at"]) / DAY
    promotion_low = (promoted["promoted_low"] - promoted["registered_at"]) / DAY
    both = frame[frame["promoted_at"].notna() & frame["first_traffic_at"].notna()]
    both = _in_window(both, "first_traffic_at", time_range)
    # An earlier promotion makes the step longer: the low bound of the promotion time
    # gives the high bound of this step.
    traffic_days = (both["first_traffic_at"] - both["promoted_at"]) / DAY
    traffic_high = (both["first_traffic_at"] - both["promoted_low"]) / DAY

    def median(series: pd.Series) -> float | None:
        return _number(series.median()) if len(series) else None

    return [
        IntervalKpiValue(LEAD_TIME_TRAINING, median(training_days)),
        IntervalKpiValue(
            LEAD_TIME_PROMOTION,
            median(promotion_days),
            low=median(promotion_low),
            high=median(promotion_days),
        ),
        IntervalKpiValue(
            LEAD_TIME_TRAFFIC,
            median(traffic_days),
            low=median(traffic_days),
            high=median(traffic_high),
        ),
    ]


# --- deployments, failures and rollbacks ---------------------------------------------

DEPLOYMENT_COLUMNS = [
    "deployment_id",
    "version_id",
    "model_id",
    "endpoint_id",
    "role",
    "started_at",
    "ended_at",
    "registered_at",
]


def deployments_frame(deployments: QuerySet[Deployment]) -> pd.DataFrame:
    rows = deployments.order_by().values_list(
        "pk",
        "model_version_id",
        "model_version__model_id",
        "endpoint_id",
        "role",
        "started_at",
        "ended_at",
        "model_version__registered_at",
    )
    frame = pd.DataFrame(list(rows), columns=DEPLOYMENT_COLUMNS)
    for column in ("started_at", "ended_at", "registered_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


@dataclass(frozen=True)
class DeliveryReport:
    """The production changes of a window and how each fared."""

    changes: pd.DataFrame  # one row per production deployment started in the window
    failed_attempts: int
    kpis: list[KpiValue]


def _predecessors(frame: pd.DataFrame, all_production: pd.DataFrame) -> pd.Series:
    """For each deployment, the registration time of the production version it replaced
    on the same endpoint (the one that ended when it started), or NaT."""
    ended = all_production.dropna(subset=["ended_at"])[
        ["model_id", "endpoint_id", "ended_at", "registered_at"]
    ].rename(columns={"ended_at": "started_at", "registered_at": "replaced_registered_at"})
    merged = frame.merge(ended, on=["model_id", "endpoint_id", "started_at"], how="left")
    # Two predecessors ending at the same instant: the newest decides.
    merged = merged.groupby("deployment_id", as_index=False)["replaced_registered_at"].max()
    return frame[["deployment_id"]].merge(merged, on="deployment_id", how="left")[
        "replaced_registered_at"
    ]


def delivery_report(
    deployments: QuerySet[Deployment],
    *,
    time_range: TimeRange,
    failure_days: int | None = None,
    rollout_minutes: int | None = None,
) -> DeliveryReport:
    """Deployment frequency, change-failure rate, time to restore, failed deployments and
    rollbacks of the production deployments that started in the window."""
    failure_days = settings_failure_days() if failure_days is None else failure_days
    rollout = timedelta(
        minutes=settings_rollout_minutes() if rollout_minutes is None else rollout_minutes
    )
    horizon = pd.Timedelta(days=failure_days)
    production = deployments_frame(deployments.filter(role=DeploymentRole.PRODUCTION))
    started = _in_window(production, "started_at", time_range).copy().reset_index(drop=True)
    ids = [int(i) for i in started["deployment_id"]]

    current = LifecycleChange.objects.current()
    reported_rollbacks = set(
        current.filter(kind=ChangeKind.ROLLED_BACK, deployment_id__in=ids).values_list(
            "deployment_id", flat=True
        )
    )
    started["replaced_registered_at"] = pd.to_datetime(
        _predecessors(started, production).to_numpy(), utc=True
    )
    started["rollback"] = started["deployment_id"].isin(reported_rollbacks) | (
        started["replaced_registered_at"] > started["registered_at"]
    )
    successor_start = started["ended_at"]
    started["replaced_within_horizon"] = successor_start.notna() & (
        successor_start - started["started_at"] <= horizon
    )
    started["sla_breach"] = [
        _sla_breached(row, horizon=horizon) for row in started.itertuples(index=False)
    ]
    started["unpromoted"] = [_unpromoted(row) for row in started.itertuples(index=False)]
    started["deployment_errors"] = [
        _deployment_errors_after(row, rollout=rollout) for row in started.itertuples(index=False)
    ]
    started["failed"] = (
        started["rollback"]
        | started["replaced_within_horizon"]
        | started["sla_breach"]
        | started["unpromoted"]
        | started["deployment_errors"]
    )
    # A rollback restores service; it is not itself the failed change unless it fails.
    started.loc[started["rollback"], "failed"] = (
        started["replaced_within_horizon"] | started["sla_breach"] | started["deployment_errors"]
    )[started["rollback"]]
    model_ids = set(deployments.values_list("model_version__model_id", flat=True))
    failed_attempts = current.filter(
        kind=ChangeKind.DEPLOYMENT_FAILED,
        model_id__in=model_ids,
        happened_before__gte=time_range.start,
        happened_before__lt=time_range.end,
    ).count()

    weeks = time_range.duration / timedelta(weeks=1)
    changes = len(started) + failed_attempts
    failed = int(started["failed"].sum()) + failed_attempts
    restored = started[started["failed"] & started["ended_at"].notna()]
    restore_hours = (restored["ended_at"] - restored["started_at"]) / pd.Timedelta(hours=1)
    failed_deployments = (
        int((started["unpromoted"] | started["deployment_errors"]).sum()) + failed_attempts
    )
    kpis = [
        KpiValue(DEPLOYMENTS, len(started)),
        KpiValue(DEPLOYMENT_FREQUENCY, len(started) / weeks if weeks else None),
        KpiValue(CHANGE_FAILURE_RATE, failed / changes if changes else None),
        KpiValue(TIME_TO_RESTORE, _number(restore_hours.median()) if len(restored) else None),
        KpiValue(FAILED_DEPLOYMENTS, failed_deployments),
        KpiValue(ROLLBACKS, int(started["rollback"].sum())),
    ]
    return DeliveryReport(changes=started, failed_attempts=failed_attempts, kpis=kpis)


def _sla_breached(row: Any, *, horizon: pd.Timedelta) -> bool:
    """Whether the version's serving on that endpoint breached the model's SLA within the
    horizon after the deployment started."""
    version = ModelVersion.objects.select_related("model").get(pk=row.version_id)
    model = version.model
    if model.sla_error_rate is None and model.sla_latency_p95_ms is None:
        return False
    end = row.started_at + horizon
    if pd.notna(row.ended_at):
        end = min(end, row.ended_at)
    events = ServingEvent.objects.filter(
        model_id=model.pk,
        model_version_id=row.version_id,
        endpoint_id=row.endpoint_id,
        timestamp__gte=row.started_at.to_pydatetime(),
        timestamp__lt=end.to_pydatetime(),
    )
    frame = pd.DataFrame(
        list(events.values_list("status", "latency_ms")), columns=["status", "latency_ms"]
    )
    if frame.empty:
        return False
    if (
        model.sla_error_rate is not None
        and (frame["status"] == EventStatus.ERROR).mean() > model.sla_error_rate
    ):
        return True
    ok = frame.loc[frame["status"] == EventStatus.OK, "latency_ms"].dropna().astype(float)
    return bool(
        model.sla_latency_p95_ms is not None
        and len(ok)
        and np.percentile(ok, 95) > model.sla_latency_p95_ms
    )


def _unpromoted(row: Any) -> bool:
    """A production deployment of a version other than the model's latest promotion at
    that moment (only for models whose promotions kpiboard knows)."""
    latest = (
        LifecycleChange.objects.current()
        .promotions()
        .filter(model_id=row.model_id, happened_after__lte=row.started_at.to_pydatetime())
        .order_by("-happened_after", "-pk")
        .values_list("model_version_id", flat=True)
        .first()
    )
    return latest is not None and latest != row.version_id


def _deployment_errors_after(row: Any, *, rollout: timedelta) -> bool:
    start = row.started_at.to_pydatetime()
    return ServingEvent.objects.filter(
        model_id=row.model_id,
        model_version_id=row.version_id,
        status=EventStatus.ERROR,
        error_type=FailureClass.DEPLOYMENT,
        timestamp__gte=start,
        timestamp__lt=start + rollout,
    ).exists()


# --- models and versions in roles ------------------------------------------------------


def new_models_deployed(deployments: QuerySet[Deployment], *, time_range: TimeRange) -> KpiValue:
    firsts = (
        Deployment.objects.filter(
            role=DeploymentRole.PRODUCTION,
            model_version__model_id__in=deployments.values("model_version__model_id"),
        )
        .values("model_version__model_id")
        .annotate(first=Min("started_at"))
        .filter(first__gte=time_range.start, first__lt=time_range.end)
    )
    return KpiValue(NEW_MODELS_DEPLOYED, firsts.count())


def new_models_by_month(deployments: QuerySet[Deployment]) -> pd.DataFrame:
    """Models whose first production deployment started in each month."""
    firsts = (
        Deployment.objects.filter(
            role=DeploymentRole.PRODUCTION,
            model_version__model_id__in=deployments.values("model_version__model_id"),
        )
        .values("model_version__model_id")
        .annotate(first=Min("started_at"))
    )
    frame = pd.DataFrame(
        list(firsts.values_list("model_version__model_id", "first")), columns=["model_id", "first"]
    )
    if frame.empty:
        return pd.DataFrame(columns=["month", "new_models"])
    frame["month"] = pd.to_datetime(frame["first"], utc=True).dt.strftime("%Y-%m")
    return frame.groupby("month").size().rename("new_models").reset_index()


def versions_in_roles(
    deployments: QuerySet[Deployment], *, time_range: TimeRange
) -> list[KpiValue]:
    active = deployments.active_between(time_range.start, time_range.end)

    def count(role: str) -> int:
        return active.filter(role=role).values("model_version").distinct().count()

    return [
        KpiValue(VERSIONS_IN_SHADOW, count(DeploymentRole.SHADOW)),
        KpiValue(VERSIONS_IN_CANARY, count(DeploymentRole.CANARY)),
    ]


def traffic_split(deployments: QuerySet[Deployment], *, time_range: TimeRange) -> pd.DataFrame:
    """Per endpoint and deployed version: role, configured traffic share, and the share of
    the endpoint's serving events in the window that the version served."""
    active = deployments.active_between(time_range.start, time_range.end)
    rows = list(
        active.order_by("endpoint__name", "-started_at").values_list(
            "endpoint_id",
            "endpoint__name",
            "model_version_id",
            "model_version__model__name",
            "model_version__version",
            "role",
            "traffic_share",
        )
    )
    columns = [
        "endpoint_id",
        "endpoint",
        "version_id",
        "model",
        "version",
        "role",
        "configured_share",
    ]
    frame = pd.DataFrame(rows, columns=columns).drop_duplicates(
        ["endpoint_id", "version_id", "role"]
    )
    if frame.empty:
        return frame.assign(models=[], inferences=[], observed_share=[])
    frame["configured_share"] = frame["configured_share"].astype(float)
    counted = (
        ServingEvent.objects.filter(
            endpoint_id__in=frame["endpoint_id"].unique().tolist(),
            timestamp__gte=time_range.start,
            timestamp__lt=time_range.end,
        )
        .order_by()
        .values("endpoint_id", "model_version_id")
        .annotate(inferences=Count("pk"))
    )
    served = pd.DataFrame(
        list(counted), columns=["endpoint_id", "model_version_id", "inferences"]
    ).rename(columns={"model_version_id": "version_id"})
    frame = frame.merge(served, on=["endpoint_id", "version_id"], how="left")
    frame["inferences"] = frame["inferences"].fillna(0).astype(int)
    totals = served.groupby("endpoint_id")["inferences"].sum()
    frame["observed_share"] = [
        (row.inferences / totals[row.endpoint_id]) if totals.get(row.endpoint_id) else None
        for row in frame.itertuples(index=False)
    ]
    frame["models"] = frame.groupby("endpoint_id")["model"].transform("nunique")
    return frame.reset_index(drop=True)


def multi_model_endpoints(split: pd.DataFrame) -> KpiValue:
    if split.empty:
        return KpiValue(MULTI_MODEL_ENDPOINTS, 0)
    return KpiValue(
        MULTI_MODEL_ENDPOINTS, int(split.loc[split["models"] > 1, "endpoint_id"].nunique())
    )


# --- champion vs challenger --------------------------------------------------------------

PAIRING_TOLERANCE = pd.Timedelta(seconds=2)
MAX_COMPARED_EVENTS = 20_000


@dataclass(frozen=True)
class SideSummary:
    version: str
    role: str
    inferences: int
    error_rate: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    labelled: int
    accuracy: float | None


@dataclass(frozen=True)
class Comparison:
    endpoint: str
    model: str
    champion: SideSummary
    challenger: SideSummary
    paired: int
    agreement: float | None
    start: datetime | None = None
    end: datetime | None = None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same_prediction(a: Any, b: Any) -> bool:
    """Classes agree when equal; scores when within 1% (or 0.01) of each other, since
    two model versions never produce bit-identical probabilities."""
    if _is_number(a) and _is_number(b):
        return math.isclose(float(a), float(b), rel_tol=0.01, abs_tol=0.01)
    return a == b


def _prediction_correct(prediction: Any, label: Any) -> bool:
    """A score in [0, 1] against a 0/1 label is read at the 0.5 threshold."""
    if (
        label in (0, 1)
        and _is_number(prediction)
        and not float(prediction).is_integer()
        and 0 <= prediction <= 1
    ):
        return (prediction >= 0.5) == bool(label)
    return _same_prediction(prediction, label)


def _side_events(version_id: int, endpoint_id: int, time_range: TimeRange) -> pd.DataFrame:
    rows = (
        ServingEvent.objects.filter(
            model_version_id=version_id,
            endpoint_id=endpoint_id,
            timestamp__gte=time_range.start,
            timestamp__lt=time_range.end,
        )
        .order_by("-timestamp")
        .values_list("event_id", "timestamp", "status", "latency_ms", "features", "prediction")[
            :MAX_COMPARED_EVENTS
        ]
    )
    frame = pd.DataFrame(
        list(rows),
        columns=["event_id", "timestamp", "status", "latency_ms", "features", "prediction"],
    )
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame


def _summary(version: str, role: str, frame: pd.DataFrame) -> SideSummary:
    ok = frame.loc[frame["status"] == EventStatus.OK, "latency_ms"].dropna().astype(float)
    labels = dict(
        Label.objects.filter(event_id__in=frame["event_id"].tolist()).values_list(
            "event_id", "label"
        )
    )
    labelled = frame[frame["event_id"].isin(labels)]
    correct = sum(
        _prediction_correct(row.prediction, labels[row.event_id])
        for row in labelled.itertuples(index=False)
    )
    return SideSummary(
        version=version,
        role=role,
        inferences=len(frame),
        error_rate=float((frame["status"] == EventStatus.ERROR).mean()) if len(frame) else None,
        latency_p50_ms=float(np.percentile(ok, 50)) if len(ok) else None,
        latency_p95_ms=float(np.percentile(ok, 95)) if len(ok) else None,
        labelled=len(labelled),
        accuracy=correct / len(labelled) if len(labelled) else None,
    )


def prediction_agreement(
    champion: pd.DataFrame, challenger: pd.DataFrame
) -> tuple[int, float | None]:
    """Pairs each challenger event with the champion event on the same features (the same
    request, copied) nearest in time within the tolerance; returns the pairs and the share
    whose predictions agree."""
    if champion.empty or challenger.empty:
        return 0, None

    def keyed(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame[frame["features"].notna()].copy()
        frame["key"] = [json.dumps(f, sort_keys=True) for f in frame["features"]]
        return frame.sort_values("timestamp")[["timestamp", "key", "prediction"]]

    left, right = keyed(challenger), keyed(champion)
    if left.empty or right.empty:
        return 0, None
    paired = pd.merge_asof(
        left,
        right,
        on="timestamp",
        by="key",
        direction="nearest",
        tolerance=PAIRING_TOLERANCE,
        suffixes=("_challenger", "_champion"),
    ).dropna(subset=["prediction_champion"])
    paired = paired[paired["prediction_champion"].notna()]
    if paired.empty:
        return 0, None
    agree = sum(
        _same_prediction(a, b)
        for a, b in zip(paired["prediction_challenger"], paired["prediction_champion"], strict=True)
    )
    return len(paired), agree / len(paired)


def champion_challenger(
    deployments: QuerySet[Deployment], *, time_range: TimeRange
) -> list[Comparison]:
    """For every shadow or canary version, side by side with the production version of the
    same model on the same endpoint, over the part of the window when both served."""
    active = list(
        deployments.active_between(time_range.start, time_range.end).select_related(
            "model_version__model", "endpoint"
        )
    )
    comparisons = []
    for challenger in active:
        if challenger.role == DeploymentRole.PRODUCTION:
            continue
        champions = [
            d
            for d in active
            if d.role == DeploymentRole.PRODUCTION
            and d.endpoint_id == challenger.endpoint_id
            and d.model_version.model_id == challenger.model_version.model_id
            and d.model_version_id != challenger.model_version_id
        ]
        if not champions:
            continue
        champion = max(champions, key=lambda d: d.started_at)
        ends = [e for e in (challenger.ended_at, champion.ended_at) if e is not None]
        both = TimeRange(
            max(time_range.start, challenger.started_at, champion.started_at),
            min([time_range.end, *ends]),
            "",
        )
        if both.start >= both.end:
            continue
        ours = _side_events(challenger.model_version_id, challenger.endpoint_id, both)
        theirs = _side_events(champion.model_version_id, champion.endpoint_id, both)
        paired, agreement = prediction_agreement(theirs, ours)
        comparisons.append(
            Comparison(
                endpoint=challenger.endpoint.name,
                model=challenger.model_version.model.name,
                champion=_summary(champion.model_version.version, champion.role, theirs),
                challenger=_summary(challenger.model_version.version, challenger.role, ours),
                paired=paired,
                agreement=agreement,
                start=both.start,
                end=both.end,
            )
        )
    return comparisons
