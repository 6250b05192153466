"""Endpoints: traffic split on multi-model endpoints, champion vs challenger."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Count, QuerySet

from lifecycle.catalog.kpis import KpiValue
from lifecycle.catalog.models import (
    Deployment,
    DeploymentRole,
    EventStatus,
    Label,
    ServingEvent,
)
from lifecycle.catalog.windows import TimeRange
from lifecycle.deployment.kpis.definitions import (
    MULTI_MODEL_ENDPOINTS,
)


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


def _is_score(value: Any) -> bool:
    """A probability-like score: a fractional number in [0, 1]."""
    return _is_number(value) and not float(value).is_integer() and 0 <= value <= 1


def _same_prediction(a: Any, b: Any) -> bool:
    """Two scores agree when they lead to the same decision at 0.5, as accuracy reads
    them (two versions never produce bit-identical probabilities, and what a caller acts
    on is the decision); other numbers when within 1% (or 0.01); classes when equal."""
    if _is_score(a) and _is_score(b):
        return (a >= 0.5) == (b >= 0.5)
    if _is_number(a) and _is_number(b):
        return math.isclose(float(a), float(b), rel_tol=0.01, abs_tol=0.01)
    return a == b


def _prediction_correct(prediction: Any, label: Any) -> bool:
    """A score in [0, 1] against a 0/1 label is read at the 0.5 threshold."""
    if label in (0, 1) and _is_score(prediction):
        return (prediction >= 0.5) == bool(label)
    return _same_prediction(prediction, label)


_SIDE_COLUMNS = (
    "event_id",
    "team_id",
    "timestamp",
    "status",
    "latency_ms",
    "features",
    "prediction",
)


def _side_events(version_id: int, endpoint_id: int, time_range: TimeRange) -> pd.DataFrame:
    rows = (
        ServingEvent.objects.filter(
            model_version_id=version_id,
            endpoint_id=endpoint_id,
            timestamp__gte=time_range.start,
            timestamp__lt=time_range.end,
        )
        .order_by("-timestamp")
        .values_list(*_SIDE_COLUMNS)[:MAX_COMPARED_EVENTS]
    )
    frame = pd.DataFrame(list(rows), columns=list(_SIDE_COLUMNS))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame


def _summary(version: str, role: str, frame: pd.DataFrame) -> SideSummary:
    ok = frame.loc[frame["status"] == EventStatus.OK, "latency_ms"].dropna().astype(float)
    # A label joins the event of its id in its own team only.
    labels = {
        (event_id, team_id): label
        for event_id, team_id, label in Label.objects.filter(
            event_id__in=frame["event_id"].tolist()
        ).values_list("event_id", "team_id", "label")
    }
    pairs = zip(frame["event_id"], frame["team_id"], strict=True)
    labelled = frame[np.array([pair in labels for pair in pairs], dtype=bool)]
    correct = sum(
        _prediction_correct(row.prediction, labels[(row.event_id, row.team_id)])
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
