"""Raw-event retention: events older than KPIBOARD_EVENT_RETENTION_DAYS are deleted;
their rollups stay, so the KPIs of old windows keep their numbers."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lifecycle.catalog.models import ServingEvent

_CHUNK = 10_000


def retention_cutoff(*, now: datetime | None = None) -> datetime | None:
    """The oldest event time still kept raw, or None when events are kept forever."""
    days = getattr(settings, "KPIBOARD_EVENT_RETENTION_DAYS", None)
    if not days:
        return None
    return (now or timezone.now()) - timedelta(days=days)


def events_prune(*, now: datetime | None = None) -> int:
    """Delete raw events older than the retention, a chunk per transaction (short locks);
    returns how many were deleted."""
    cutoff = retention_cutoff(now=now)
    if cutoff is None:
        return 0
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                ServingEvent.objects.filter(timestamp__lt=cutoff).values_list("pk", flat=True)[
                    :_CHUNK
                ]
            )
            if not ids:
                return deleted
            deleted += ServingEvent.objects.filter(pk__in=ids).delete()[0]
