"""Models in production, and per-version milestones: time to deploy and lead times."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from django.db.models import Min, OuterRef, Q, QuerySet, Subquery

from lifecycle.catalog.kpis import KpiValue
from lifecycle.catalog.models import (
    Deployment,
    DeploymentRole,
    ModelVersion,
    ServingEvent,
)
from lifecycle.catalog.windows import TimeRange
from lifecycle.deployment.kpis.definitions import (
    DAY,
    LEAD_TIME_PROMOTION,
    LEAD_TIME_TRAFFIC,
    LEAD_TIME_TRAINING,
    MODELS_IN_PRODUCTION,
    TIME_TO_DEPLOY_MEAN,
    TIME_TO_DEPLOY_MEDIAN,
    IntervalKpiValue,
    number_or_none,
)
from lifecycle.deployment.models import (
    DEPLOYING_KINDS,
    ChangeKind,
    LifecycleChange,
    RegistryVersionState,
)

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
    events = ServingEvent.objects.filter(model_version=version)
    for endpoint_id, started, ended in shadows:
        window = Q(endpoint_id=endpoint_id, timestamp__gte=started)
        if ended is not None:
            window &= Q(timestamp__lt=ended)
        events = events.exclude(window)
    return events.order_by("timestamp").values_list("timestamp", flat=True).first()


def first_traffic_by_version(
    versions: list[ModelVersion], shadows: dict[int, list[tuple]]
) -> dict[int, datetime | None]:
    """Each version's earliest serving event that is not a shadow copy.

    One query answers every version without shadow deployments (its earliest event,
    read from the (model_version, timestamp) index); a version that ran in shadow is
    asked on its own, with its shadow windows excluded."""
    earliest = (
        ServingEvent.objects.filter(model_version=OuterRef("pk"))
        .order_by("timestamp")
        .values("timestamp")[:1]
    )
    plain = [v.pk for v in versions if v.pk not in shadows]
    result: dict[int, datetime | None] = dict(
        ModelVersion.objects.filter(pk__in=plain)
        .annotate(first_traffic_at=Subquery(earliest))
        .values_list("pk", "first_traffic_at")
    )
    for version in versions:
        if version.pk in shadows:
            result[version.pk] = _first_traffic(version, shadows[version.pk])
    return result


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

    first_traffic = first_traffic_by_version(rows, shadows)
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
                "first_traffic_at": first_traffic.get(version.pk),
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


def rows_in_window(frame: pd.DataFrame, column: str, time_range: TimeRange) -> pd.DataFrame:
    start, end = pd.Timestamp(time_range.start), pd.Timestamp(time_range.end)
    return frame[(frame[column] >= start) & (frame[column] < end)]


def time_to_deploy(milestones: pd.DataFrame, *, time_range: TimeRange) -> list[IntervalKpiValue]:
    """Median and mean time to deploy of the versions that reached production in the
    window; the low bound uses each poll interval's start, the high its end."""
    frame = rows_in_window(time_to_deploy_frame(milestones), "production_at", time_range)
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
        frame = rows_in_window(frame, "production_at", time_range)
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
    training = rows_in_window(frame[frame["run_ended_at"].notna()], "registered_at", time_range)
    training_days = (training["registered_at"] - training["run_ended_at"]) / DAY
    promoted = rows_in_window(frame[frame["promoted_at"].notna()], "promoted_at", time_range)
    promotion_days = (promoted["promoted_at"] - promoted["registered_at"]) / DAY
    promotion_low = (promoted["promoted_low"] - promoted["registered_at"]) / DAY
    both = frame[frame["promoted_at"].notna() & frame["first_traffic_at"].notna()]
    both = rows_in_window(both, "first_traffic_at", time_range)
    # An earlier promotion makes the step longer: the low bound of the promotion time
    # gives the high bound of this step.
    traffic_days = (both["first_traffic_at"] - both["promoted_at"]) / DAY
    traffic_high = (both["first_traffic_at"] - both["promoted_low"]) / DAY

    def median(series: pd.Series) -> float | None:
        return number_or_none(series.median()) if len(series) else None

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
