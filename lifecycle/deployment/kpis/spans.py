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

from lifecycle.catalog.models import EventStatus, LatencyRollup, ServingEvent
from lifecycle.catalog.serving.histograms import (
    Histogram,
    HistogramSum,
    latency_bucket_expression,
)
from lifecycle.catalog.serving.scope import rollup_segments
from lifecycle.catalog.serving.sums import ERROR_COLUMNS


@dataclass(frozen=True)
class Span:
    """The serving of one version over [start, end), on one endpoint or (None) on any."""

    model_id: int
    version_id: int
    endpoint_id: int | None
    start: datetime
    end: datetime


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
    rollup_where = Q(pk__in=[])
    by_version: dict[int, list[Hashable]] = {}
    for key, parts in segments.items():
        span = spans[key]
        by_version.setdefault(span.version_id, []).append(key)
        covered = Q(pk__in=[])
        for _, _, g, lo, hi in parts:
            if g is not None:
                covered |= Q(granularity=g, bucket_start__gte=lo, bucket_start__lt=hi)
        rollup_where |= _where(models[key], span.version_id, span.endpoint_id) & covered
    columns = ["model_version_id", "endpoint_id", "granularity", "bucket_start", *sums]
    if histograms:
        columns.append("histogram")
    for row in LatencyRollup.objects.filter(rollup_where).order_by().values_list(*columns):
        version, endpoint, granularity, bucket = row[:4]
        values = row[4 : 4 + len(sums)]
        for key in by_version.get(version, ()):
            span = spans[key]
            if span.endpoint_id is not None and span.endpoint_id != endpoint:
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
        selected = Q(pk__in=[])
        for condition in conditions:
            selected |= condition
        label = Case(
            *(When(condition, then=Value(i)) for i, condition in enumerate(conditions)),
            output_field=IntegerField(),
        )
        events = ServingEvent.objects.filter(selected).annotate(segment=label).order_by()
        fields = ["segment"]
        if histograms:
            # The latency bucket of the successful events (NULL for the others), so one
            # GROUP BY gives the sums and the histogram alike.
            events = events.annotate(
                index=Case(
                    When(
                        status=EventStatus.OK,
                        latency_ms__isnull=False,
                        then=latency_bucket_expression("latency_ms"),
                    ),
                    default=None,
                    output_field=IntegerField(),
                )
            )
            fields.append("index")
        counted: dict[int, list[tuple[int, int]]] = {}
        grouped = events.values_list(*fields).annotate(n=Count("pk"), **_raw_aggregates(sums))
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
