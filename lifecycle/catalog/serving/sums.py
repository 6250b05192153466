"""Counts, cost and latency histograms over a scope, per group and time bucket."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce, TruncHour, TruncMinute

from lifecycle.catalog.models import (
    ROLLUP_COUNTS,
    EventStatus,
    FailureClass,
    RollupGranularity,
)
from lifecycle.catalog.serving.buckets import bucket_floor
from lifecycle.catalog.serving.histograms import (
    Histogram,
    HistogramSum,
    histogram_quantiles,
    latency_bucket_expression,
)
from lifecycle.catalog.serving.scope import (
    ServingScope,
    raw_q,
    rollup_q,
)

# The rollup column of each failure class, as the writer fills them and readers sum them.
ERROR_COLUMNS = {f"errors_{c}": c for c in FailureClass.values}
SUMS = ROLLUP_COUNTS  # inferences, errors, errors per failure class, cost_usd
COST = len(SUMS) - 1  # the position of cost_usd, the one decimal among the sums
QUANTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}


# --- sums ---------------------------------------------------------------------------


def _raw_bucket(series: str) -> TruncHour | TruncMinute:
    """Raw events by hour (floored further in Python for days), or by minute for a
    series by minute or 5 minutes (floored further in Python)."""
    if series in ("minute", RollupGranularity.FIVE_MINUTES):
        return TruncMinute("timestamp")
    return TruncHour("timestamp")


def _raw_aggregates() -> dict[str, Any]:
    """The `SUMS` over raw events, in the same order."""
    aggregates: dict[str, Any] = {
        "inferences": Count("pk"),
        "errors": Count("pk", filter=Q(status=EventStatus.ERROR)),
    }
    for column, failure_class in ERROR_COLUMNS.items():
        aggregates[column] = Count("pk", filter=Q(error_type=failure_class))
    # As in the rollups: an event stored without a cost costs its model's unit cost.
    aggregates["cost_usd"] = Sum(Coalesce("cost_usd", "model__unit_cost_usd"))
    return {name: aggregates[name] for name in SUMS}


def serving_totals(
    scope: ServingScope,
    *,
    group_by: Iterable[str] = (),
    series: str | None = None,
    sums: Sequence[str] = SUMS,
) -> dict[tuple, list]:
    """Inferences, errors (in all and per class) and cost (the `SUMS`, in that order,
    or the ones asked for) per value of `group_by` (fields of both ServingRollup and
    ServingEvent: model, model_version, endpoint, caller, model__team ...), and per time
    bucket when `series` ("hour" or "day") is given, as {key tuple: sums}.

    The database sums each part of the window; the parts are added here in plain
    Python: a portfolio has a few hundred keys, and building data frames for them cost
    more than the database's work."""
    group = list(group_by)
    if "caller" in group and series == RollupGranularity.FIVE_MINUTES:
        raise ValueError("5-minute rollups merge callers: no series by caller per 5 minutes")
    width = len(group) + (1 if series else 0)
    counts = [i for i, name in enumerate(sums) if name != "cost_usd"]
    cost = sums.index("cost_usd") if "cost_usd" in sums else None  # the one decimal
    totals: dict[tuple, list] = {}

    def add(rows: Iterable[tuple]) -> None:
        for row in rows:
            if not row[width]:  # an aggregate over no rows
                continue
            key = row[:width]
            if series:
                key = (*key[:-1], bucket_floor(key[-1], granularity=series))
            values = list(row[width:])
            for i in counts:
                values[i] = int(values[i])
            if cost is not None:
                values[cost] = Decimal(values[cost] or 0)
            current = totals.get(key)
            if current is None:
                totals[key] = values
            else:
                for i, value in enumerate(values):
                    current[i] += value

    rollups_where = rollup_q(scope, series)
    if rollups_where is not None:
        fields = [*group, *(["bucket_start"] if series else [])]
        # Callers are merged in the latency rollups, which have a fifth of the rows.
        source = scope.rollups if "caller" in group else scope.latency
        selected = source.filter(rollups_where).order_by()
        summed = {c: Sum(c) for c in sums}
        if fields:
            add(selected.values_list(*fields).annotate(**summed))
        else:  # values() without fields would group by every column
            add([tuple(selected.aggregate(**summed).values())])
    raw_where = raw_q(scope, series)
    if raw_where is not None:
        events = scope.events.filter(raw_where).order_by()
        fields = list(group)
        if series:
            events = events.annotate(bucket=_raw_bucket(series))
            fields.append("bucket")
        aggregates = _raw_aggregates()
        aggregates = {name: aggregates[name] for name in sums}
        if fields:
            add(events.values_list(*fields).annotate(**aggregates))
        else:
            add([tuple(events.aggregate(**aggregates).values())])
    return totals


def serving_sums(
    scope: ServingScope, *, group_by: Iterable[str] = (), series: str | None = None
) -> pd.DataFrame:
    """`serving_totals` as a frame: one row per key, sorted by key, columns `group_by`,
    "bucket" with `series`, then the `SUMS`."""
    group = list(group_by)
    keys = [*group, *(["bucket"] if series else [])]
    totals = serving_totals(scope, group_by=group, series=series)
    frame = pd.DataFrame.from_records(
        [(*key, *values) for key, values in totals.items()], columns=[*keys, *SUMS]
    )
    if series:
        frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True)
    if keys and len(frame):
        frame = frame.sort_values(keys, na_position="last", kind="stable", ignore_index=True)
    return frame


def serving_histograms(
    scope: ServingScope,
    *,
    group_by: str | Sequence[str] | None = None,
    series: str | None = None,
) -> dict[Any, Histogram]:
    """Merged latency histograms of the successful inferences, per value of `group_by`
    (model, model_version, endpoint or None for all) and per time bucket with `series`."""
    if group_by is None:
        keys_of: list[str] = []
    else:
        keys_of = [group_by] if isinstance(group_by, str) else list(group_by)
    parts: dict[Any, HistogramSum] = {}

    def key(values: tuple) -> Any:
        return values[0] if len(values) == 1 else (values if values else None)

    def part(k: Any) -> HistogramSum:
        if k not in parts:
            parts[k] = HistogramSum()
        return parts[k]

    rollups_where = rollup_q(scope, series)
    if rollups_where is not None:
        fields = [*keys_of, *(["bucket_start"] if series else []), "histogram"]
        for row in scope.latency.filter(rollups_where).order_by().values_list(*fields):
            *values, blob = row
            if series:
                values[-1] = bucket_floor(values[-1], granularity=series)
            part(key(tuple(values))).add_blob(blob)
    raw_where = raw_q(scope, series)
    if raw_where is not None:
        ok = scope.events.filter(raw_where, status=EventStatus.OK, latency_ms__isnull=False)
        ok = ok.order_by().annotate(index=latency_bucket_expression("latency_ms"))
        fields = list(keys_of)
        if series:
            ok = ok.annotate(bucket=_raw_bucket(series))
            fields.append("bucket")
        counted: dict[Any, list[tuple[int, int]]] = {}
        for *values, index, n in ok.values_list(*fields, "index").annotate(n=Count("pk")):
            if series:
                values[-1] = bucket_floor(values[-1], granularity=series)
            counted.setdefault(key(tuple(values)), []).append((int(index), n))
        for k, pairs in counted.items():
            indexes = np.array([i for i, _ in pairs], dtype=np.int16)
            counts = np.array([n for _, n in pairs], dtype=np.int64)
            part(k).add((indexes, counts))
    return {k: v.histogram() for k, v in parts.items()}


def latency_percentiles(histogram: Histogram | None) -> dict[str, float | None]:
    """p50, p95 and p99 of a merged histogram (None each when there is none)."""
    if histogram is None:
        return dict.fromkeys(QUANTILES)
    return dict(
        zip(QUANTILES, histogram_quantiles(histogram, list(QUANTILES.values())), strict=True)
    )
