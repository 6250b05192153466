"""Endpoints: traffic split on multi-model endpoints, champion vs challenger."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.functions import RowNumber

from lifecycle.catalog.kpis import KpiValue
from lifecycle.catalog.models import (
    Deployment,
    DeploymentRole,
    Label,
    ServingEvent,
)
from lifecycle.catalog.serving.scope import serving_scope_where
from lifecycle.catalog.serving.sums import (
    latency_percentiles,
    serving_histograms,
    serving_totals,
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
    scope = serving_scope_where(
        time_range=time_range, endpoint_id__in=frame["endpoint_id"].unique().tolist()
    )
    counted = serving_totals(scope, group_by=["endpoint", "model_version"], sums=("inferences",))
    served = pd.DataFrame(
        [(endpoint_id, version_id, n) for (endpoint_id, version_id), (n,) in counted.items()],
        columns=["endpoint_id", "version_id", "inferences"],
    )
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
    "model_version_id",
    "endpoint_id",
    "event_id",
    "timestamp",
    "features",
    "prediction",
    "labelled",
    "label",
)

Side = tuple[int, int]  # (model version id, endpoint id)


def _sides_events(spans: dict[Side, TimeRange]) -> dict[Side, pd.DataFrame]:
    """The newest events (at most MAX_COMPARED_EVENTS) of each side in its span, with
    the label of each (from its own team only), in one query for every side.

    Pairing requests and judging predictions needs the events one by one, so these two
    numbers are the only ones of the comparison read from raw events; the window bounds
    them, and so does the cap."""
    where = Q(pk__in=[])
    for (version_id, endpoint_id), span in spans.items():
        where |= Q(
            model_version_id=version_id,
            endpoint_id=endpoint_id,
            timestamp__gte=span.start,
            timestamp__lt=span.end,
        )
    labels = Label.objects.filter(event_id=OuterRef("event_id"), team_id=OuterRef("team_id"))
    rows = (
        ServingEvent.objects.filter(where)
        .order_by()
        .annotate(
            newest=Window(
                RowNumber(),
                partition_by=[F("model_version_id"), F("endpoint_id")],
                order_by=F("timestamp").desc(),
            ),
            labelled=Exists(labels),
            label=Subquery(labels.values("label")[:1]),
        )
        .filter(newest__lte=MAX_COMPARED_EVENTS)
        .values_list(*_SIDE_COLUMNS)
    )
    frame = pd.DataFrame(list(rows), columns=list(_SIDE_COLUMNS))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame = frame.sort_values("timestamp", ascending=False, kind="stable")
    groups = dict(list(frame.groupby(["model_version_id", "endpoint_id"], sort=False)))
    empty = frame.iloc[0:0]
    return {side: groups.get(side, empty) for side in spans}


def _in_span(frame: pd.DataFrame, span: TimeRange) -> pd.DataFrame:
    stamps = frame["timestamp"]
    return frame[(stamps >= pd.Timestamp(span.start)) & (stamps < pd.Timestamp(span.end))]


def _side_accuracy(frame: pd.DataFrame) -> tuple[int, float | None]:
    labelled = frame[frame["labelled"].astype(bool)]
    correct = sum(
        _prediction_correct(row.prediction, row.label) for row in labelled.itertuples(index=False)
    )
    return len(labelled), (correct / len(labelled) if len(labelled) else None)


def _sides_serving(
    *, version_ids: list[int], endpoint_id: int, span: TimeRange
) -> dict[int, tuple[int, float | None, dict[str, float | None]]]:
    """Per version on the endpoint over the span: inferences, error rate and latency
    percentiles, from the rollups (raw events only at the span's partial hours)."""
    scope = serving_scope_where(
        time_range=span, model_version_id__in=version_ids, endpoint_id=endpoint_id
    )
    totals = serving_totals(scope, group_by=["model_version"], sums=("inferences", "errors"))
    histograms = serving_histograms(scope, group_by="model_version")
    result = {}
    for version_id in version_ids:
        inferences, errors = totals.get((version_id,), (0, 0))
        result[version_id] = (
            inferences,
            errors / inferences if inferences else None,
            latency_percentiles(histograms.get(version_id)),
        )
    return result


def _summary(
    version: str,
    role: str,
    serving: tuple[int, float | None, dict[str, float | None]],
    events: pd.DataFrame,
) -> SideSummary:
    inferences, error_rate, latency = serving
    labelled, accuracy = _side_accuracy(events)
    return SideSummary(
        version=version,
        role=role,
        inferences=inferences,
        error_rate=error_rate,
        latency_p50_ms=latency["p50"],
        latency_p95_ms=latency["p95"],
        labelled=labelled,
        accuracy=accuracy,
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
    pairs = []
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
        if both.start < both.end:
            pairs.append((champion, challenger, both))
    # A champion beside two challengers is read once, over both their spans.
    spans: dict[Side, TimeRange] = {}
    for champion, challenger, both in pairs:
        for d in (champion, challenger):
            side = (d.model_version_id, d.endpoint_id)
            known = spans.get(side, both)
            spans[side] = TimeRange(min(known.start, both.start), max(known.end, both.end), "")
    events = _sides_events(spans) if spans else {}
    comparisons = []
    for champion, challenger, both in pairs:
        theirs = _in_span(events[(champion.model_version_id, champion.endpoint_id)], both)
        ours = _in_span(events[(challenger.model_version_id, challenger.endpoint_id)], both)
        serving = _sides_serving(
            version_ids=[champion.model_version_id, challenger.model_version_id],
            endpoint_id=challenger.endpoint_id,
            span=both,
        )
        paired, agreement = prediction_agreement(theirs, ours)
        comparisons.append(
            Comparison(
                endpoint=challenger.endpoint.name,
                model=challenger.model_version.model.name,
                champion=_summary(
                    champion.model_version.version,
                    champion.role,
                    serving[champion.model_version_id],
                    theirs,
                ),
                challenger=_summary(
                    challenger.model_version.version,
                    challenger.role,
                    serving[challenger.model_version_id],
                    ours,
                ),
                paired=paired,
                agreement=agreement,
                start=both.start,
                end=both.end,
            )
        )
    return comparisons
