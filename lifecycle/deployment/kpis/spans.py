"""Serving sums and latency histograms of many (version, endpoint, time span) at once.

Deployment judges each deployment over its own span (the SLA over the failure horizon,
deployment errors during the rollout, the two sides of a comparison): asked one scope at
a time, that was three to five queries per deployment. Here every span is read from the
same few queries: the rollup rows of all spans in one, the raw events of their partial
hours in one per layer of spans that do not overlap.

A span's numbers are those of `serving_totals` and `serving_histograms` over the same
scope: counts and histograms add up exactly, so it does not matter which rollup rows
cover a span, only that they cover exactly it."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
from django.db.models import Case, Count, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Coalesce

from lifecycle.catalog.models import EventStatus, LatencyRollup, RollupGranularity, ServingEvent
from lifecycle.catalog.serving.buckets import BUCKET_STEPS, bucket_floor
from lifecycle.catalog.serving.histograms import (
    Histogram,
    HistogramSum,
    latency_bucket_expression,
)
from lifecycle.catalog.serving.scope import any_of, rollup_segments
from lifecycle.catalog.serving.sums import ERROR_COLUMNS


@dataclass(frozen=True)
class Span:
    """The serving of one version over [start, end), on one endpoint or (None) on any."""

    model_id: int
    version_id: int
    endpoint_id: int | None
    start: datetime
    end: datetime

    def serves(self, version_id: int, endpoint_id: int | None) -> bool:
        """Whether a row of `version_id` on `endpoint_id` is this span's version's."""
        return version_id == self.version_id and self.endpoint_id in (None, endpoint_id)


@dataclass
class SpanServing:
    sums: list[Any]
    histogram: Histogram | None = None
    _parts: HistogramSum | None = field(default=None, repr=False)


Segment = tuple[int, int | None, str | None, datetime, datetime]  # version, endpoint, g, lo, hi


def _raw_aggregates(sums: Sequence[str]) -> dict[str, Any]:
    """The `sums` over raw events, as the read model counts them."""
    aggregates: dict[str, Any] = {
        "inferences": Count("pk"),
        "errors": Count("pk", filter=Q(status=EventStatus.ERROR)),
        "cost_usd": Sum(Coalesce("cost_usd", "model__unit_cost_usd")),
    }
    for column, failure_class in ERROR_COLUMNS.items():
        aggregates[column] = Count("pk", filter=Q(error_type=failure_class))
    return {name: aggregates[name] for name in sums}


def _layers(segments: Iterable[Segment]) -> list[list[Segment]]:
    """Raw segments in layers whose members select no event twice (a CASE labels each
    event with one segment only)."""
    layers: list[list[Segment]] = []
    for segment in segments:
        version, endpoint, _, lo, hi = segment
        for layer in layers:
            if not any(
                v == version
                and (e is None or endpoint is None or e == endpoint)
                and lo < other_hi
                and other_lo < hi
                for v, e, _, other_lo, other_hi in layer
            ):
                layer.append(segment)
                break
        else:
            layers.append([segment])
    return layers


def _where(span_model: int, version: int, endpoint: int | None) -> Q:
    where = Q(model_id=span_model, model_version_id=version)
    if endpoint is not None:
        where &= Q(endpoint_id=endpoint)
    return where


def spans_serving(
    spans: dict[Hashable, Span], *, sums: Sequence[str], histograms: bool = False
) -> dict[Hashable, SpanServing]:
    """The `sums` (names of the rollup counts, in that order) of every span, and its
    merged latency histogram of successful inferences when `histograms` is set."""
    result = {key: SpanServing(sums=[0] * len(sums)) for key in spans}
    if not spans:
        return result
    cost = sums.index("cost_usd") if "cost_usd" in sums else None
    if cost is not None:
        for serving in result.values():
            serving.sums[cost] = Decimal(0)
    models = {key: span.model_id for key, span in spans.items()}
    segments: dict[Hashable, list[Segment]] = {}
    for key, span in spans.items():
        segments[key] = [
            (span.version_id, span.endpoint_id, g, lo, hi)
            # Read exactly to the span's end: the partial hour it ends in comes from the
            # raw events (retention only removes whole old hours), which saves the
            # read model's look for a later event, a query per span set.
            for g, lo, hi in rollup_segments(span.start, span.end)
        ]

    def add(key: Hashable, values: Sequence[Any]) -> None:
        target = result[key].sums
        for i, value in enumerate(values):
            if value is None:
                continue
            target[i] += Decimal(value) if i == cost else int(value)

    def histogram_part(key: Hashable) -> HistogramSum:
        serving = result[key]
        if serving._parts is None:
            serving._parts = HistogramSum()
        return serving._parts

    # The rollup rows: each names its version, endpoint, granularity and bucket, so a row
    # is added to every span whose parts hold it, overlapping spans included.
    covering: list[Q] = []
    by_version: dict[int, list[Hashable]] = {}
    for key, parts in segments.items():
        span = spans[key]
        by_version.setdefault(span.version_id, []).append(key)
        covered = any_of(
            Q(granularity=g, bucket_start__gte=lo, bucket_start__lt=hi)
            for _, _, g, lo, hi in parts
            if g is not None
        )
        covering.append(_where(models[key], span.version_id, span.endpoint_id) & covered)
    rollup_where = any_of(covering)
    columns = ["model_version_id", "endpoint_id", "granularity", "bucket_start", *sums]
    if histograms:
        columns.append("histogram")
    for row in LatencyRollup.objects.order_by().values_list(*columns).filter(rollup_where):
        version, endpoint, granularity, bucket = row[:4]
        values = row[4 : 4 + len(sums)]
        for key in by_version.get(version, ()):
            span = spans[key]
            if not span.serves(version, endpoint):
                continue
            if any(g == granularity and lo <= bucket < hi for _, _, g, lo, hi in segments[key]):
                add(key, values)
                if histograms:
                    histogram_part(key).add_blob(row[-1])

    # The raw events of the partial hours: identical segments are read once.
    raw: dict[Segment, list[Hashable]] = {}
    for key, parts in segments.items():
        for part in parts:
            if part[2] is None:
                raw.setdefault(part, []).append(key)
    model_of = {part: models[keys[0]] for part, keys in raw.items()}
    for layer in _layers(raw):
        conditions = [
            _where(model_of[part], part[0], part[1])
            & Q(timestamp__gte=part[3], timestamp__lt=part[4])
            for part in layer
        ]
        selected = any_of(conditions)
        # Each event's segment: first its version, then its endpoint and time among that
        # version's segments, so the database tests a few conditions per event, not all.
        by_version: dict[int, list[tuple[int, Q]]] = {}
        for i, (part, condition) in enumerate(zip(layer, conditions, strict=True)):
            by_version.setdefault(part[0], []).append((i, condition))
        label = Case(
            *(
                When(
                    model_version_id=version,
                    then=Case(
                        *(When(condition, then=Value(i)) for i, condition in parts),
                        output_field=IntegerField(),
                    ),
                )
                for version, parts in by_version.items()
            ),
            output_field=IntegerField(),
        )
        # The long conditions go in last: each queryset step after them copies them.
        annotations: dict[str, Any] = {"segment": label}
        fields = ["segment"]
        if histograms:
            # The latency bucket of the successful events (NULL for the others), so one
            # GROUP BY gives the sums and the histogram alike.
            annotations["index"] = Case(
                When(
                    status=EventStatus.OK,
                    latency_ms__isnull=False,
                    then=latency_bucket_expression("latency_ms"),
                ),
                default=None,
                output_field=IntegerField(),
            )
            fields.append("index")
        counted: dict[int, list[tuple[int, int]]] = {}
        grouped = (
            ServingEvent.objects.order_by()
            .annotate(**annotations)
            .values_list(*fields)
            .annotate(n=Count("pk"), **_raw_aggregates(sums))
            .filter(selected)
        )
        for row in grouped:
            segment, *rest = row
            index = rest.pop(0) if histograms else None
            n, *values = rest
            for key in raw[layer[segment]]:
                add(key, values)
            if index is not None:
                counted.setdefault(segment, []).append((int(index), n))
        for segment, pairs in counted.items():
            indexes = np.array([i for i, _ in pairs], dtype=np.int16)
            counts = np.array([n for _, n in pairs], dtype=np.int64)
            for key in raw[layer[segment]]:
                histogram_part(key).add((indexes, counts))
    for serving in result.values():
        if serving._parts is not None:
            serving.histogram = serving._parts.histogram()
            serving._parts = None
    return result


def spans_with_errors(spans: dict[Hashable, Span], *, column: str) -> set[Hashable]:
    """The spans during which at least one inference failed with the class of `column`
    (one of ERROR_COLUMNS), exactly, reading raw events only where the rollups say there
    may be some: the hour rollups bound every span (a span whose hours counted none of
    that class has none), and only the spans left are looked up among the raw failed
    events of that class, few by nature. Reading every event of a 30-minute rollout of
    each deployment, as `spans_serving` would, was most of the deployment page's time
    at scale."""
    if not spans:
        return set()
    hour = RollupGranularity.HOUR
    bounds = any_of(
        _where(span.model_id, span.version_id, span.endpoint_id)
        & Q(
            bucket_start__gte=bucket_floor(span.start, granularity=hour),
            bucket_start__lt=span.end,
        )
        for span in spans.values()
    )
    failing_hours = set(
        LatencyRollup.objects.filter(bounds, granularity=hour, **{f"{column}__gt": 0})
        .order_by()
        .values_list("model_version_id", "endpoint_id", "bucket_start")
    )

    def failing(span: Span) -> list[datetime]:
        """The starts of the span's hours whose rollup counted such a failure."""
        floor = bucket_floor(span.start, granularity=hour)
        return [
            bucket
            for version, endpoint, bucket in failing_hours
            if span.serves(version, endpoint) and floor <= bucket < span.end
        ]

    failed_spans: set[Hashable] = set()
    candidates: dict[Hashable, Span] = {}
    for key, span in spans.items():
        hours = failing(span)
        # A failing hour wholly inside the span settles it; one the span only cuts may
        # have failed outside it, so the raw events decide.
        if any(span.start <= h and h + BUCKET_STEPS[hour] <= span.end for h in hours):
            failed_spans.add(key)
        elif hours:
            candidates[key] = span
    if not candidates:
        return failed_spans
    where = any_of(
        _where(span.model_id, span.version_id, span.endpoint_id)
        & Q(timestamp__gte=span.start, timestamp__lt=span.end)
        for span in candidates.values()
    )
    failed = list(
        ServingEvent.objects.filter(
            where, status=EventStatus.ERROR, error_type=ERROR_COLUMNS[column]
        )
        .order_by()
        .values_list("model_version_id", "endpoint_id", "timestamp")
    )
    return failed_spans | {
        key
        for key, span in candidates.items()
        if any(
            span.serves(version, endpoint) and span.start <= moment < span.end
            for version, endpoint, moment in failed
        )
    }
