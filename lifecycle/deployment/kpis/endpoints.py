"""Endpoints: traffic split on multi-model endpoints, champion vs challenger."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from django.db.models import (
    Exists,
    Q,
    QuerySet,
    Subquery,
)

from lifecycle.catalog.kpis import KpiValue
from lifecycle.catalog.models import (
    Deployment,
    DeploymentRole,
    Label,
    ServingEvent,
)
from lifecycle.catalog.serving.scope import any_of, serving_scope_where
from lifecycle.catalog.serving.sums import latency_percentiles, serving_totals
from lifecycle.catalog.windows import TimeRange
from lifecycle.deployment.kpis.definitions import MULTI_MODEL_ENDPOINTS
from lifecycle.deployment.kpis.spans import Span, spans_serving

# Shares are stored to 4 decimals: three of a third each add up to 0.9999.
SHARE_TOLERANCE = 0.0005


def traffic_split(deployments: QuerySet[Deployment], *, time_range: TimeRange) -> pd.DataFrame:
    """Per endpoint and version deployed on it during the window, one row: its `role`
    (the last it took in the window; `roles`, all of them in order), `declared_share`,
    the share of the endpoint's traffic its deployments declare at the window's end
    (None when it no longer served then, 0 for a shadow), `observed_share`, the share of
    the endpoint's requests in the window it answered, `inferences` (those requests)
    and `shadow_copies` (the copies it answered in the shadow role, which are not
    requests: an endpoint's observed shares add up to 1 without them). `declared_total`
    is the sum of the endpoint's declared shares, and `declared_adds_up` whether it is
    100% (to the 4 decimals a share is stored with); both None when nothing on the
    endpoint served at the end."""
    active = deployments.active_between(time_range.start, time_range.end)
    rows = list(
        active.order_by("endpoint__name", "started_at", "pk").values_list(
            "endpoint_id",
            "endpoint__name",
            "model_version_id",
            "model_version__model__name",
            "model_version__version",
            "role",
            "traffic_share",
            "ended_at",
        )
    )
    columns = [
        "endpoint_id",
        "endpoint",
        "version_id",
        "model",
        "version",
        "role",
        "roles",
        "declared_share",
        "declared_total",
        "declared_adds_up",
        "observed_share",
        "inferences",
        "shadow_copies",
        "models",
    ]
    if not rows:
        return pd.DataFrame(columns=columns)
    split: dict[tuple[int, int], dict[str, Any]] = {}
    for endpoint_id, endpoint, version_id, model, version, role, share, ended_at in rows:
        row = split.setdefault(
            (endpoint_id, version_id),
            {
                "endpoint_id": endpoint_id,
                "endpoint": endpoint,
                "version_id": version_id,
                "model": model,
                "version": version,
                "roles": [],
                "declared_share": None,
            },
        )
        row["role"] = role  # the rows come in the order they started
        if role not in row["roles"]:
            row["roles"].append(role)
        # Still serving just before the window's end: it declares its share then.
        if ended_at is None or ended_at >= time_range.end:
            declared = 0.0 if role == DeploymentRole.SHADOW else float(share)
            row["declared_share"] = (row["declared_share"] or 0.0) + declared
    endpoint_ids = sorted({endpoint_id for endpoint_id, _ in split})

    def served(shadow_copies: bool) -> dict[tuple, int]:
        scope = serving_scope_where(
            time_range=time_range, shadow_copies=shadow_copies, endpoint_id__in=endpoint_ids
        )
        counted = serving_totals(
            scope, group_by=["endpoint", "model_version"], sums=("inferences",)
        )
        return {key: n for key, (n,) in counted.items()}

    requests, copies = served(False), served(True)
    requests_per_endpoint: dict[int, int] = {}
    for (endpoint_id, _), n in requests.items():
        requests_per_endpoint[endpoint_id] = requests_per_endpoint.get(endpoint_id, 0) + n
    for key, row in split.items():
        row["inferences"] = requests.get(key, 0)
        row["shadow_copies"] = copies.get(key, 0)
        total = requests_per_endpoint.get(key[0])
        row["observed_share"] = row["inferences"] / total if total else None
    frame = pd.DataFrame(list(split.values()))
    frame["declared_total"] = frame.groupby("endpoint_id")["declared_share"].transform(
        lambda shares: shares.sum(min_count=1)
    )
    frame["declared_adds_up"] = [
        None if pd.isna(total) else abs(total - 1) < SHARE_TOLERANCE
        for total in frame["declared_total"]
    ]
    frame["models"] = frame.groupby("endpoint_id")["model"].transform("nunique")
    for name in ("declared_share", "declared_total", "observed_share"):
        # None, not NaN, where there is no share: pages and the API read "no value".
        frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    return frame[columns].reset_index(drop=True)


def multi_model_endpoints(split: pd.DataFrame) -> KpiValue:
    if split.empty:
        return KpiValue(MULTI_MODEL_ENDPOINTS, 0)
    return KpiValue(
        MULTI_MODEL_ENDPOINTS, int(split.loc[split["models"] > 1, "endpoint_id"].nunique())
    )


# --- champion vs challenger --------------------------------------------------------------

PAIRING_TOLERANCE = pd.Timedelta(seconds=2)
MAX_COMPARED_EVENTS = 20_000
# Agreement is a share: the newest 500 requests of each side estimate it to about a
# percent, and reading every request of both sides was most of the deployment page's time.
PAIRING_SAMPLE = 500


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


Side = tuple[int, int]  # (model version id, endpoint id)


_SIDE_COLUMNS = ["timestamp", "features", "prediction", "label"]


@dataclass(frozen=True)
class SideEvents:
    """What a comparison reads of one side's events one by one, newest first."""

    sample: pd.DataFrame  # the newest PAIRING_SAMPLE events (pairing reads them)
    labelled: pd.DataFrame  # the newest MAX_COMPARED_EVENTS labelled events (accuracy)


def _frame(rows: Any) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=_SIDE_COLUMNS)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame


def _sides_events(spans: dict[Side, TimeRange]) -> dict[Side, SideEvents]:
    """Pairing requests and judging predictions needs events one by one, so these are
    the only numbers of a comparison read from raw events, and only the newest: each
    side's sample walks the (version, endpoint, time) index back from its span's end,
    never the span's millions of events; the labelled events of every side come in one
    query, which the database may answer from the labels (thousands) rather than from
    the events, and each side keeps its newest MAX_COMPARED_EVENTS. Each label is the
    one from the event's own team."""
    labels = Label.of_outer_event()
    samples: dict[Side, pd.DataFrame] = {}
    in_spans: list[Q] = []
    for side, span in spans.items():
        version_id, endpoint_id = side
        where = Q(
            model_version_id=version_id,
            endpoint_id=endpoint_id,
            timestamp__gte=span.start,
            timestamp__lt=span.end,
        )
        in_spans.append(where)
        newest = ServingEvent.objects.filter(where).order_by("-timestamp", "-pk")
        # Pairing reads no label: the sample leaves the column empty.
        samples[side] = _frame(
            (*row, None) for row in newest.values_list(*_SIDE_COLUMNS[:-1])[:PAIRING_SAMPLE]
        )
    labelled = (
        ServingEvent.objects.filter(Exists(labels))
        # A label row always holds a value (JSON null is not SQL NULL).
        .annotate(label=Subquery(labels.values("label")[:1]))
        .order_by("-timestamp", "-pk")
        .values_list("model_version_id", "endpoint_id", *_SIDE_COLUMNS)
        .filter(any_of(in_spans))
    )
    by_side: dict[Side, list] = {side: [] for side in spans}
    for version_id, endpoint_id, *row in labelled:
        kept = by_side[(version_id, endpoint_id)]
        if len(kept) < MAX_COMPARED_EVENTS:
            kept.append(row)
    return {
        side: SideEvents(sample=samples[side], labelled=_frame(by_side[side])) for side in spans
    }


def _sampled_pairs(champion: pd.DataFrame, challenger: pd.DataFrame) -> pd.DataFrame:
    """The challenger's sampled requests whose every possible partner is in the
    champion's sample: when the champion's sample stops short (it reached
    PAIRING_SAMPLE), the challenger's requests older than its first one plus the
    tolerance are left out, so each request left pairs as it would among all events."""
    if len(champion) < PAIRING_SAMPLE or challenger.empty:
        return challenger
    return challenger[challenger["timestamp"] > champion["timestamp"].min() + PAIRING_TOLERANCE]


def _in_span(frame: pd.DataFrame, span: TimeRange) -> pd.DataFrame:
    stamps = frame["timestamp"]
    return frame[(stamps >= pd.Timestamp(span.start)) & (stamps < pd.Timestamp(span.end))]


def _side_accuracy(labelled: pd.DataFrame) -> tuple[int, float | None]:
    # Two columns zipped: itertuples would box every row's timestamp too.
    correct = sum(
        _prediction_correct(prediction, label)
        for prediction, label in zip(labelled["prediction"], labelled["label"], strict=True)
    )
    return len(labelled), (correct / len(labelled) if len(labelled) else None)


def _sides_serving(
    pairs: list[tuple[Deployment, Deployment, TimeRange]],
) -> dict[tuple[int, int], tuple[int, float | None, dict[str, float | None]]]:
    """Per (pair, version): inferences, error rate and latency percentiles on the pair's
    endpoint over the span when both served, from the rollups (raw events only at the
    span's partial hours), every pair in the same few queries."""
    spans = {
        (i, d.model_version_id): Span(
            model_id=d.model_version.model_id,
            version_id=d.model_version_id,
            endpoint_id=d.endpoint_id,
            start=both.start,
            end=both.end,
        )
        for i, (champion, challenger, both) in enumerate(pairs)
        for d in (champion, challenger)
    }
    serving = spans_serving(spans, sums=("inferences", "errors"), histograms=True)
    result = {}
    for key, read in serving.items():
        inferences, errors = read.sums
        result[key] = (
            inferences,
            errors / inferences if inferences else None,
            latency_percentiles(read.histogram),
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
    serving = _sides_serving(pairs)
    comparisons = []
    for i, (champion, challenger, both) in enumerate(pairs):
        theirs = events[(champion.model_version_id, champion.endpoint_id)]
        ours = events[(challenger.model_version_id, challenger.endpoint_id)]
        champion_labelled = _in_span(theirs.labelled, both)
        challenger_labelled = _in_span(ours.labelled, both)
        ours_sample = _sampled_pairs(theirs.sample, _in_span(ours.sample, both))
        theirs_sample = _in_span(theirs.sample, both)
        paired, agreement = prediction_agreement(theirs_sample, ours_sample)
        comparisons.append(
            Comparison(
                endpoint=challenger.endpoint.name,
                model=challenger.model_version.model.name,
                champion=_summary(
                    champion.model_version.version,
                    champion.role,
                    serving[(i, champion.model_version_id)],
                    champion_labelled,
                ),
                challenger=_summary(
                    challenger.model_version.version,
                    challenger.role,
                    serving[(i, challenger.model_version_id)],
                    challenger_labelled,
                ),
                paired=paired,
                agreement=agreement,
                start=both.start,
                end=both.end,
            )
        )
    return comparisons
