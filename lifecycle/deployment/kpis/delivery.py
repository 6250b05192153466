"""Delivery in the spirit of DORA: deployments, failures, rollbacks, restores; and the
versions and models in each role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from django.db.models import Count, Min, QuerySet

from lifecycle.catalog.kpis import KpiValue
from lifecycle.catalog.models import (
    Deployment,
    DeploymentRole,
    FailureClass,
    RegisteredModel,
)
from lifecycle.catalog.serving.sums import ERROR_COLUMNS, latency_percentiles
from lifecycle.catalog.windows import TimeRange
from lifecycle.deployment.kpis.definitions import (
    CHANGE_FAILURE_RATE,
    DEPLOYMENT_FREQUENCY,
    DEPLOYMENTS,
    FAILED_DEPLOYMENTS,
    NEW_MODELS_DEPLOYED,
    ROLLBACKS,
    TIME_TO_RESTORE,
    VERSIONS_IN_CANARY,
    VERSIONS_IN_SHADOW,
    number_or_none,
    settings_failure_days,
    settings_rollout_minutes,
)
from lifecycle.deployment.kpis.milestones import rows_in_window
from lifecycle.deployment.kpis.spans import Span, SpanServing, spans_serving, spans_with_errors
from lifecycle.deployment.models import (
    ChangeKind,
    LifecycleChange,
)

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
    started = rows_in_window(production, "started_at", time_range).copy().reset_index(drop=True)
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
    models = RegisteredModel.objects.in_bulk(started["model_id"].unique().tolist())
    started["sla_breach"], started["deployment_errors"] = _serving_checks(
        started, models=models, horizon=horizon, rollout=rollout
    )
    started["unpromoted"] = _unpromoted(started)
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
    failed_attempts = current.filter(
        kind=ChangeKind.DEPLOYMENT_FAILED,
        model_id__in=deployments.values("model_version__model_id"),
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
        KpiValue(
            TIME_TO_RESTORE, number_or_none(restore_hours.median()) if len(restored) else None
        ),
        KpiValue(FAILED_DEPLOYMENTS, failed_deployments),
        KpiValue(ROLLBACKS, int(started["rollback"].sum())),
    ]
    return DeliveryReport(changes=started, failed_attempts=failed_attempts, kpis=kpis)


_DEPLOYMENT_ERRORS = next(c for c, f in ERROR_COLUMNS.items() if f == FailureClass.DEPLOYMENT)


def _serving_checks(
    started: pd.DataFrame,
    *,
    models: dict[int, RegisteredModel],
    horizon: pd.Timedelta,
    rollout: timedelta,
) -> tuple[list[bool], list[bool]]:
    """Per deployment, from the rollups and every deployment in the same few queries:
    whether the version's serving on that endpoint breached the model's SLA within the
    horizon after the deployment started (the error rate is exact, the p95 from the
    merged histograms within 0.5%), and whether the version failed with a deployment
    error during its rollout (on any endpoint, from the per-class error columns)."""
    rollouts: dict[int, Span] = {}
    spans: dict[tuple[str, int], Span] = {}
    for row in started.itertuples(index=False):
        start = row.started_at.to_pydatetime()
        rollouts[row.deployment_id] = Span(
            model_id=row.model_id,
            version_id=row.version_id,
            endpoint_id=None,
            start=start,
            end=start + rollout,
        )
        model = models[row.model_id]
        if model.sla_error_rate is None and model.sla_latency_p95_ms is None:
            continue
        end = row.started_at + horizon
        if pd.notna(row.ended_at):
            end = min(end, row.ended_at)
        spans[("sla", row.deployment_id)] = Span(
            model_id=model.pk,
            version_id=row.version_id,
            endpoint_id=row.endpoint_id,
            start=start,
            end=end.to_pydatetime(),
        )
    latency_slas = any(models[s.model_id].sla_latency_p95_ms is not None for s in spans.values())
    serving = spans_serving(spans, sums=("inferences", "errors"), histograms=latency_slas)
    failed_rollouts = spans_with_errors(rollouts, column=_DEPLOYMENT_ERRORS)
    breaches, deployment_errors = [], []
    for row in started.itertuples(index=False):
        read = serving.get(("sla", row.deployment_id))
        breaches.append(read is not None and _sla_breached(read, model=models[row.model_id]))
        deployment_errors.append(row.deployment_id in failed_rollouts)
    return breaches, deployment_errors


def _sla_breached(serving: SpanServing, *, model: RegisteredModel) -> bool:
    inferences, errors = serving.sums
    if not inferences:
        return False
    if model.sla_error_rate is not None and errors / inferences > model.sla_error_rate:
        return True
    if model.sla_latency_p95_ms is None:
        return False
    p95 = latency_percentiles(serving.histogram)["p95"]
    return p95 is not None and p95 > model.sla_latency_p95_ms


def _unpromoted(started: pd.DataFrame) -> list[bool]:
    """Per production deployment, whether it deployed a version other than the model's
    latest promotion at that moment (only for models whose promotions kpiboard knows);
    the promotions of every model are read in one query."""
    promotions: dict[int, list[tuple[datetime, int, int]]] = {}
    rows = (
        LifecycleChange.objects.current()
        .promotions()
        .filter(model_id__in=[int(m) for m in started["model_id"].unique()])
        .values_list("model_id", "happened_after", "pk", "model_version_id")
    )
    for model_id, after, pk, version_id in rows:
        promotions.setdefault(model_id, []).append((after, pk, version_id))
    result = []
    for row in started.itertuples(index=False):
        at = row.started_at.to_pydatetime()
        known = [p for p in promotions.get(row.model_id, ()) if p[0] <= at]
        latest = max(known, key=lambda p: (p[0], p[1]))[2] if known else None
        result.append(latest is not None and latest != row.version_id)
    return result


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
    active = deployments.active_between(time_range.start, time_range.end).order_by()
    counted = dict(
        active.filter(role__in=[DeploymentRole.SHADOW, DeploymentRole.CANARY])
        .values_list("role")
        .annotate(n=Count("model_version", distinct=True))
    )
    return [
        KpiValue(VERSIONS_IN_SHADOW, counted.get(DeploymentRole.SHADOW, 0)),
        KpiValue(VERSIONS_IN_CANARY, counted.get(DeploymentRole.CANARY, 0)),
    ]
