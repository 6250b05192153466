"""Models in production, and per-version milestones: time to deploy and lead times."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from django.db.models import OuterRef, Q, QuerySet, Subquery

from lifecycle.catalog.kpis import KpiValue
from lifecycle.catalog.models import (
    Deployment,
    DeploymentRole,
    LatencyRollup,
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
    ROLE_SETTING_KINDS,
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


def models_in_production(model_ids: set[int]) -> KpiValue:
    """The KPI of `production_model_ids`' answer."""
    return KpiValue(MODELS_IN_PRODUCTION, len(model_ids))


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


Stretch = tuple[datetime | None, datetime | None]


def _gaps(windows: list[tuple[datetime, datetime | None]]) -> list[Stretch]:
    """The stretches of time outside `windows` ([start, end), end None = still open),
    earliest first; None means unbounded."""
    gaps: list[Stretch] = []
    lo: datetime | None = None
    for start, end in sorted(windows, key=lambda w: w[0]):
        if lo is None or start > lo:
            gaps.append((lo, start))
        if end is None:
            return gaps
        lo = end if lo is None else max(lo, end)
    gaps.append((lo, None))
    return gaps


def first_traffic_by_version(
    version_ids: list[int], shadows: dict[int, list[tuple]]
) -> dict[int, datetime | None]:
    """Each version's earliest serving event that is not a shadow copy.

    A version that never ran in shadow: its earliest event, for every such version in
    one query from the (model_version, timestamp) index. One that did: on each endpoint
    it served (from the rollups and its deployments), the earliest event of the first
    stretch outside that endpoint's shadow windows that has one, each a probe of the
    (model_version, endpoint, timestamp) index; walking past the shadow copies
    instead read millions of events at scale."""
    plain = [v for v in version_ids if v not in shadows]
    earliest = (
        ServingEvent.objects.filter(model_version=OuterRef("pk"))
        .order_by("timestamp")
        .values("timestamp")[:1]
    )
    result: dict[int, datetime | None] = dict(
        ModelVersion.objects.filter(pk__in=plain)
        .annotate(first_traffic_at=Subquery(earliest))
        .values_list("pk", "first_traffic_at")
    )
    shadowed = [v for v in version_ids if v in shadows]
    if not shadowed:
        return result
    served: set[tuple[int, int | None]] = set(
        LatencyRollup.objects.filter(model_version_id__in=shadowed)
        .order_by()
        .values_list("model_version_id", "endpoint_id")
        .distinct()
    )
    served |= {(v, endpoint) for v in shadowed for endpoint, _, _ in shadows[v]}
    for version_id, endpoint_id in sorted(served, key=lambda pair: (pair[0], pair[1] or 0)):
        windows = [(start, end) for e, start, end in shadows[version_id] if e == endpoint_id]
        events = ServingEvent.objects.filter(model_version_id=version_id, endpoint_id=endpoint_id)
        for lo, hi in _gaps(windows):
            stretch = events
            if lo is not None:
                stretch = stretch.filter(timestamp__gte=lo)
            if hi is not None:
                stretch = stretch.filter(timestamp__lt=hi)
            first = stretch.order_by("timestamp").values_list("timestamp", flat=True).first()
            if first is not None:
                known = result.get(version_id)
                result[version_id] = first if known is None else min(known, first)
                break
        result.setdefault(version_id, None)
    return result


def version_milestones(versions: QuerySet[ModelVersion]) -> pd.DataFrame:
    """One row per version: registered, run end, first promotion (and its lower bound),
    first production deployment (and its lower bound), first production traffic.

    A version seen in serving but not in the registry has no registration time yet (its
    `registered_at` stands in with its first traffic): it is NaT here, so no time to
    deploy or lead time counts it until the registry brings it."""
    rows = list(
        versions.order_by("pk").values_list(
            "pk",
            "model_id",
            "model__name",
            "version",
            "model__team__name",
            "model__industry__name",
            "registered_at",
            "seen_in_serving_at",
        )
    )
    if not rows:
        return pd.DataFrame(columns=MILESTONE_COLUMNS)
    # The ids, not the queryset: every query below would otherwise carry its SQL again.
    ids = [row[0] for row in rows]
    # The current ledger entries of these versions, read once: promotions (their
    # earliest interval), the entries that link a deployment (its earliest possible
    # start) and registrations (the run end they carry).
    promoted: dict[int, tuple[datetime, datetime]] = {}
    linked: dict[int, datetime] = {}
    run_ended: dict[int, datetime] = {}
    for version_id, kind, role, deployment_id, after, before, detail in (
        LifecycleChange.objects.current()
        .filter(model_version_id__in=ids)
        .filter(
            Q(kind__in=ROLE_SETTING_KINDS, role=DeploymentRole.PRODUCTION)
            | Q(kind__in=DEPLOYING_KINDS, deployment__isnull=False)
            | Q(kind=ChangeKind.REGISTERED)
        )
        .values_list(
            "model_version_id",
            "kind",
            "role",
            "deployment_id",
            "happened_after",
            "happened_before",
            "detail",
        )
    ):
        if kind in ROLE_SETTING_KINDS and role == DeploymentRole.PRODUCTION:
            at, low = promoted.get(version_id, (before, after))
            promoted[version_id] = (min(at, before), min(low, after))
        if kind in DEPLOYING_KINDS and deployment_id is not None:
            linked[deployment_id] = min(linked.get(deployment_id, after), after)
        if kind == ChangeKind.REGISTERED and (stamp := (detail or {}).get("run_ended_at")):
            run_ended[version_id] = datetime.fromisoformat(stamp)
    deployed: dict[int, list[datetime]] = {}
    shadows: dict[int, list[tuple]] = {}
    for pk, version_id, role, endpoint_id, started, ended in Deployment.objects.filter(
        model_version_id__in=ids, role__in=[DeploymentRole.PRODUCTION, DeploymentRole.SHADOW]
    ).values_list("pk", "model_version_id", "role", "endpoint_id", "started_at", "ended_at"):
        if role == DeploymentRole.SHADOW:
            shadows.setdefault(version_id, []).append((endpoint_id, started, ended))
            continue
        low = min(started, linked.get(pk, started))
        at, lowest = deployed.get(version_id, [started, low])
        deployed[version_id] = [min(at, started), min(lowest, low)]
    # The registry's own record of the run end wins over the one in the ledger.
    run_ended.update(
        RegistryVersionState.objects.filter(
            model_version_id__in=ids, run_ended_at__isnull=False
        ).values_list("model_version_id", "run_ended_at")
    )

    first_traffic = first_traffic_by_version(ids, shadows)
    records = []
    for pk, model_id, model, version, team, industry, registered_at, seen_in_serving in rows:
        promo = promoted.get(pk)
        deploy = deployed.get(pk)
        records.append(
            (
                pk,
                model_id,
                model,
                version,
                team,
                industry,
                None if seen_in_serving else registered_at,
                run_ended.get(pk),
                promo[0] if promo else None,
                promo[1] if promo else None,
                deploy[0] if deploy else None,
                deploy[1] if deploy else None,
                first_traffic.get(pk),
            )
        )
    columns = list(zip(*records, strict=True))
    return pd.DataFrame(
        {
            name: (
                values
                if i < 6
                # One unit for every moment: pandas converts on each operation between units.
                else pd.DatetimeIndex(values, tz=UTC).as_unit("us")
            )
            for i, (name, values) in enumerate(zip(MILESTONE_COLUMNS, columns, strict=True))
        }
    )


def _earliest(*moments: Any) -> pd.Timestamp | None:
    known = [m for m in moments if not pd.isna(m)]
    return min(known) if known else None


def production_moments(milestones: pd.DataFrame) -> tuple[list, list]:
    """Per version, when it reached production (the earlier of its first production
    deployment and its first production traffic) and the lower bound of that moment
    (a deployment seen by a poll may have happened as early as the poll before)."""
    traffic = milestones["first_traffic_at"].tolist()
    at = [_earliest(d, t) for d, t in zip(milestones["deployed_at"].tolist(), traffic, strict=True)]
    low = [
        _earliest(d, t) for d, t in zip(milestones["deployed_low"].tolist(), traffic, strict=True)
    ]
    return at, low


def time_to_deploy_frame(milestones: pd.DataFrame) -> pd.DataFrame:
    """Per version that reached production: when, and the days it took (with bounds)."""
    frame = milestones.copy()
    at, low = production_moments(milestones)
    frame["production_at"] = pd.to_datetime(at, utc=True)
    frame["production_low"] = pd.to_datetime(low, utc=True)
    frame = frame[frame["production_at"].notna() & frame["registered_at"].notna()].copy()
    frame["days"] = (frame["production_at"] - frame["registered_at"]) / DAY
    frame["days_low"] = (frame["production_low"] - frame["registered_at"]) / DAY
    return frame


def rows_in_window(frame: pd.DataFrame, column: str, time_range: TimeRange) -> pd.DataFrame:
    start, end = pd.Timestamp(time_range.start), pd.Timestamp(time_range.end)
    return frame[(frame[column] >= start) & (frame[column] < end)]


def time_to_deploy(milestones: pd.DataFrame, *, time_range: TimeRange) -> list[IntervalKpiValue]:
    """Median and mean time to deploy of the versions that reached production in the
    window; the low bound uses each poll interval's start, the high its end.

    Plain Python over a few dozen versions: the portfolio asks this on every request,
    and pandas spent milliseconds per operation on frames this small."""
    start, end = pd.Timestamp(time_range.start), pd.Timestamp(time_range.end)
    days: list[float] = []
    days_low: list[float] = []
    at, low = production_moments(milestones)
    for reached, lowest, registered in zip(
        at, low, milestones["registered_at"].tolist(), strict=True
    ):
        if reached is not None and not pd.isna(registered) and start <= reached < end:
            days.append((reached - registered) / DAY)
            days_low.append((lowest - registered) / DAY)
    if not days:
        return [
            IntervalKpiValue(TIME_TO_DEPLOY_MEDIAN, None),
            IntervalKpiValue(TIME_TO_DEPLOY_MEAN, None),
        ]
    median = statistics.median(days)
    mean = math.fsum(days) / len(days)
    return [
        IntervalKpiValue(
            TIME_TO_DEPLOY_MEDIAN, median, low=statistics.median(days_low), high=median
        ),
        IntervalKpiValue(
            TIME_TO_DEPLOY_MEAN, mean, low=math.fsum(days_low) / len(days_low), high=mean
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
    frame["month"] = frame["production_at"].dt.strftime("%Y-%m")
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
