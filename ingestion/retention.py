"""Raw-event retention: events older than KPIBOARD_EVENT_RETENTION_DAYS are deleted;
their rollups stay, so the KPIs of old windows keep their numbers. The 5-minute latency
rollups (a day's charts) are kept for KPIBOARD_FIVE_MINUTE_ROLLUP_DAYS; an older
window's charts fall back to hours."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from lifecycle.catalog.models import LatencyRollup, RollupGranularity, ServingEvent
from lifecycle.catalog.serving.buckets import five_minute_rollups_cutoff

_CHUNK = 10_000


def retention_cutoff(*, now: datetime | None = None) -> datetime | None:
    """The oldest event time still kept raw, or None when events are kept forever."""
    days = getattr(settings, "KPIBOARD_EVENT_RETENTION_DAYS", None)
    if not days:
        return None
    return (now or timezone.now()) - timedelta(days=days)


def five_minute_rollups_prune(*, now: datetime | None = None) -> int:
    """Delete the 5-minute rollups of the buckets that ended before the cutoff; returns
    how many were deleted."""
    cutoff = five_minute_rollups_cutoff(now=now)
    if cutoff is None:
        return 0
    return _delete_in_chunks(
        LatencyRollup.objects.filter(
            granularity=RollupGranularity.FIVE_MINUTES,
            bucket_start__lt=cutoff - timedelta(minutes=5),
        )
    )


def events_prune(*, now: datetime | None = None) -> int:
    """Delete raw events older than the retention, a chunk per transaction (short locks);
    returns how many were deleted."""
    cutoff = retention_cutoff(now=now)
    if cutoff is None:
        return 0
    return _delete_in_chunks(ServingEvent.objects.filter(timestamp__lt=cutoff))


def _delete_in_chunks(rows: QuerySet) -> int:
    """Delete `rows` a chunk per transaction (short locks); returns how many."""
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(rows.values_list("pk", flat=True)[:_CHUNK])
            if not ids:
                return deleted
            deleted += rows.model.objects.filter(pk__in=ids).delete()[0]
