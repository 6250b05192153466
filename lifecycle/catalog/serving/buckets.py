"""The time buckets of the rollups: 5 minutes, hours, days and weeks (Monday to Sunday),
in UTC.

The rollup writer cuts events into these buckets and every reader cuts windows along
them, so both floor and ceil a moment here, with the same rule as the database's
TruncHour, TruncDay and TruncWeek."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from lifecycle.catalog.models import RollupGranularity

BUCKET_STEPS: dict[str, timedelta] = {
    RollupGranularity.WEEK: timedelta(days=7),
    RollupGranularity.DAY: timedelta(days=1),
    RollupGranularity.HOUR: timedelta(hours=1),
    RollupGranularity.FIVE_MINUTES: timedelta(minutes=5),
    RollupGranularity.MINUTE: timedelta(minutes=1),
}


def bucket_floor(moment: datetime, *, granularity: str) -> datetime:
    """The start of the bucket of `granularity` that `moment` falls in."""
    moment = moment.replace(second=0, microsecond=0)
    if granularity == RollupGranularity.FIVE_MINUTES:
        moment = moment.replace(minute=moment.minute - moment.minute % 5)
    elif granularity != RollupGranularity.MINUTE:
        moment = moment.replace(minute=0)
    if granularity in (RollupGranularity.DAY, RollupGranularity.WEEK):
        moment = moment.replace(hour=0)
    if granularity == RollupGranularity.WEEK:  # weeks start on Monday, as TruncWeek's
        moment -= timedelta(days=moment.weekday())
    return moment


def bucket_ceil(moment: datetime, *, granularity: str) -> datetime:
    """`moment` itself when a bucket starts there, else the start of the next bucket."""
    floored = bucket_floor(moment, granularity=granularity)
    return floored if floored == moment else floored + BUCKET_STEPS[granularity]


def five_minute_rollups_cutoff(*, now: datetime | None = None) -> datetime | None:
    """The oldest moment 5-minute rollups are kept for (KPIBOARD_FIVE_MINUTE_ROLLUP_DAYS
    before `now`), or None when they are kept forever: the writer writes none older, the
    retention prunes them and the charts read hours for a window reaching past it."""
    days = getattr(settings, "KPIBOARD_FIVE_MINUTE_ROLLUP_DAYS", 3)
    if not days:
        return None
    return (now or timezone.now()) - timedelta(days=days)
