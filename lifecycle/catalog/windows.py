"""Time windows of the filter bar: a named window ending now, or a custom range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from lifecycle.catalog.models import RollupGranularity
from lifecycle.catalog.serving.buckets import bucket_floor

WINDOWS: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
WINDOW_LABELS = {
    "1h": "Last hour",
    "24h": "Last day",
    "7d": "Last week",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
}
DEFAULT_WINDOW = "7d"
# Where a named window starts: at the top of the hour or day (UTC) it would start in,
# the bucket size of its charts, so its first bucket is whole and every part of it is
# read from rollups. The last hour stays exact to the second.
WINDOW_ALIGNMENT: dict[str, str] = {
    # An hour is drawn per minute: it starts on the minute, so its first bucket is whole.
    "1h": RollupGranularity.MINUTE,
    "24h": RollupGranularity.HOUR,
    "7d": RollupGranularity.HOUR,
    "30d": RollupGranularity.DAY,
    "90d": RollupGranularity.DAY,
}


@dataclass(frozen=True)
class TimeRange:
    """A half-open interval [start, end) with the words a page shows for it."""

    start: datetime
    end: datetime
    label: str

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    @property
    def minutes(self) -> float:
        return self.duration.total_seconds() / 60.0


def time_range_resolve(
    *,
    window: str | None,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
) -> TimeRange:
    """Custom range if start or end is given (the missing side defaults to now, or to the
    default window before end), kept to the second; else the named window ending now,
    its start aligned as WINDOW_ALIGNMENT says."""
    if start is not None or end is not None:
        end = end or now
        start = start or end - WINDOWS[DEFAULT_WINDOW]
        return TimeRange(start, end, f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC")
    window = window or DEFAULT_WINDOW
    start = now - WINDOWS[window]
    if window in WINDOW_ALIGNMENT:
        start = bucket_floor(start, granularity=WINDOW_ALIGNMENT[window])
    return TimeRange(start, now, WINDOW_LABELS[window])
