"""Times taken from outside (pushes, registries, log files, query strings): one parser,
one accepted range.

A KPI dashboard has no use for year 1 or 9999, and such times break whoever reads them:
a UTC value outside datetime's range cannot even be loaded back from PostgreSQL, and one
near its end makes the next hour, day or week of a rollup overflow. So every time that
comes in is checked against one range, from the Unix epoch (MLflow counts its
milliseconds from there; anything earlier is a broken clock) to a day after now (clocks
skew, but an event further ahead has not happened yet).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
# How far ahead of kpiboard's clock a sender's clock may run.
FUTURE_TOLERANCE = timedelta(days=1)


def time_latest(*, now: datetime | None = None) -> datetime:
    """The latest time accepted now."""
    return (now or timezone.now()) + FUTURE_TOLERANCE


def time_problem(moment: datetime, *, now: datetime | None = None) -> str | None:
    """Why an aware `moment` is outside the accepted range, or None when it is inside."""
    if moment < EARLIEST:
        return f"before {EARLIEST:%Y-%m-%d} (UTC), the earliest time accepted"
    if moment > time_latest(now=now):
        return "more than a day in the future; check the sender's clock"
    return None


def time_parse(
    value: Any, *, now: datetime | None = None, assume_utc: bool = False
) -> datetime | str:
    """An ISO 8601 time with a zone, in UTC and within the accepted range, or the reason
    it is not one. With `assume_utc` a time without a zone is taken as UTC (the filter
    bar's inputs send none)."""
    if not isinstance(value, str):
        return "must be an ISO 8601 string with a time zone"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return "not an ISO 8601 date and time"
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        if not assume_utc:
            return "needs a time zone (e.g. Z or +00:00)"
        parsed = parsed.replace(tzinfo=UTC)
    try:
        moment = parsed.astimezone(UTC)
    except OverflowError:
        return "its UTC value is outside the years 1 to 9999"
    return time_problem(moment, now=now) or moment


def time_from_unix(seconds: Any, *, now: datetime | None = None) -> datetime | str:
    """Seconds since the epoch (an int, float or digit string) as a UTC time within the
    accepted range, or the reason it is not one. Milliseconds: divide by 1000 first."""
    if isinstance(seconds, str):
        text = seconds.strip()
        # isdigit alone would let "²" through, which int() refuses.
        if not (text.isascii() and text.lstrip("-").isdigit()):
            return "must be a number of seconds since 1970-01-01 (UTC)"
        if len(text.lstrip("-").lstrip("0")) > 18:  # centuries away, and int() has a limit
            seconds = -math.inf if text.startswith("-") else math.inf
        else:
            seconds = int(text)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return "must be a number of seconds since 1970-01-01 (UTC)"
    if seconds != seconds:
        return "must be a number of seconds, not NaN"
    # Compared before converting: fromtimestamp overflows (or errs) far out of range.
    if seconds < EARLIEST.timestamp():
        return f"before {EARLIEST:%Y-%m-%d} (UTC), the earliest time accepted"
    if seconds > time_latest(now=now).timestamp():
        return "more than a day in the future; check the sender's clock"
    return datetime.fromtimestamp(seconds, tz=UTC)
