"""Serving numbers over time, for the charts: per minute up to two hours (from the raw
events), per 5 minutes up to two days (from the 5-minute latency rollups, while they are
kept), per hour up to a week, else per day."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lifecycle.catalog.models import RollupGranularity
from lifecycle.catalog.serving.buckets import (
    BUCKET_STEPS,
    bucket_floor,
    five_minute_rollups_cutoff,
)
from lifecycle.catalog.serving.scope import ServingScope
from lifecycle.catalog.serving.sums import (
    ERROR_COLUMNS,
    QUANTILES,
    latency_percentiles,
    serving_histograms,
    serving_sums,
    serving_totals,
)

if TYPE_CHECKING:
    from lifecycle.catalog.windows import TimeRange


def series_granularity(time_range: TimeRange) -> str:
    """The bucket of a window's charts: minutes for up to two hours (an hour's window
    drawn as one hourly point said nothing), 5 minutes up to two days (24 hourly points
    hid a 20-minute outage), hours up to a week, else days. A day's window that starts
    before the 5-minute rollups' retention is drawn by hour."""
    if time_range.duration <= timedelta(hours=2):
        return "minute"
    if time_range.duration <= timedelta(days=2):
        cutoff = five_minute_rollups_cutoff()
        if cutoff is None or time_range.start >= cutoff:
            return RollupGranularity.FIVE_MINUTES
    # A named week starts on the hour (WINDOW_ALIGNMENT): up to an hour over 7 days.
    return "hour" if time_range.duration <= timedelta(days=7, hours=1) else "day"


def window_buckets(time_range: TimeRange) -> pd.DatetimeIndex:
    """The start of every chart bucket of the window, the first one it cuts included."""
    granularity = series_granularity(time_range)
    first = bucket_floor(time_range.start, granularity=granularity)
    step = BUCKET_STEPS[granularity]
    return pd.date_range(first, time_range.end - timedelta(microseconds=1), freq=step, tz="UTC")


def zero_filled(frame: pd.DataFrame, time_range: TimeRange, counts: list[str]) -> pd.DataFrame:
    """`frame` (one row per bucket) with a row of zero `counts` for every bucket of the
    window without one: no inference in a minute is a zero, not a gap a line crosses."""
    buckets = window_buckets(time_range)
    filled = frame.set_index("bucket").reindex(buckets.union(pd.DatetimeIndex(frame["bucket"])))
    filled[counts] = filled[counts].fillna(0).astype(np.int64)
    return filled.rename_axis("bucket").reset_index()


def serving_series(scope: ServingScope, *, group_by: str | None = None) -> pd.DataFrame:
    """Inferences and errors per time bucket (hour for windows up to a week, else day)."""
    fields = ["bucket", group_by] if group_by else ["bucket"]
    totals = serving_totals(
        scope,
        group_by=[group_by] if group_by else [],
        series=series_granularity(scope.time_range),
        sums=("inferences", "errors"),
    )
    # Keys are (group value, bucket): the bucket goes first, rows in time order.
    rows = sorted(((key[-1], *key[:-1], *values) for key, values in totals.items()), key=_order)
    frame = pd.DataFrame.from_records(rows, columns=[*fields, "inferences", "errors"])
    frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True)
    frame = frame.astype({"inferences": np.int64, "errors": np.int64})
    if group_by is None:
        frame = zero_filled(frame, scope.time_range, ["inferences", "errors"])
    return frame


def _order(row: tuple) -> tuple:
    """Bucket, then group value (a missing one, e.g. no endpoint, first)."""
    return (row[0], *(("", "") if v is None else (type(v).__name__, v) for v in row[1:-2]))


def errors_by_class_series(scope: ServingScope) -> pd.DataFrame:
    """Failed inferences per time bucket and failure class (long form)."""
    sums = serving_sums(scope, series=series_granularity(scope.time_range))
    if sums.empty:
        return pd.DataFrame(columns=["bucket", "error_type", "errors"])
    long = sums[["bucket", *ERROR_COLUMNS]].melt(
        id_vars=["bucket"],
        value_vars=list(ERROR_COLUMNS),
        var_name="error_type",
        value_name="errors",
    )
    long["error_type"] = long["error_type"].map(ERROR_COLUMNS)
    long["errors"] = long["errors"].astype(np.int64)
    return long[long["errors"] > 0].sort_values("bucket").reset_index(drop=True)


def latency_series(scope: ServingScope, *, group_by: str | None = None) -> pd.DataFrame:
    """p50/p95/p99 per time bucket (and per `group_by` value)."""
    series = series_granularity(scope.time_range)
    histograms = serving_histograms(scope, group_by=group_by, series=series)
    rows = []
    for key, histogram in histograms.items():
        *group, bucket = key if isinstance(key, tuple) else (key,)
        rows.append(
            {
                "bucket": bucket,
                **({group_by: group[0]} if group_by else {}),
                **latency_percentiles(histogram),
            }
        )
    columns = ["bucket", *([group_by] if group_by else []), *QUANTILES]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values("bucket").reset_index(drop=True)
