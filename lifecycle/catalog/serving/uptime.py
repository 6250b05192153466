"""Uptime's minutes over a scope: per model, the minutes with traffic and the minutes
with a system-class error (`SYSTEM_FAILURE_CLASSES`).

The unit is the model-minute: a model is down in a minute when any of the serving the
scope selects (its versions and endpoints) answered a system-class error in it, and up
when it served and none did; a minute without traffic is neither. Exact and mergeable
at every granularity:

- raw events (the window's partial hours): their distinct minutes, per model;
- hour rows: each (version, endpoint) row's two 60-bit minute bitmaps, OR-ed per model
  and hour, then counted;
- day and week rows: the model's counts (`UptimeRollup`, summed from those ORs when the
  hours were rolled up), when the scope takes whole models; a scope narrowed to
  versions or endpoints reads those days' hour bitmaps instead.

Shadow copies are not requests: the scope's hour rows and raw events leave them out
(the bitmaps are kept per `shadow` row), and `UptimeRollup` counts request rows only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMinute

from lifecycle.catalog.models import SYSTEM_FAILURE_CLASSES, EventStatus, RollupGranularity
from lifecycle.catalog.serving.scope import ServingScope, any_of


@dataclass(frozen=True)
class UptimeMinutes:
    served: int = 0  # minutes with traffic
    failed: int = 0  # of those, minutes with a system-class error

    def __add__(self, other: UptimeMinutes) -> UptimeMinutes:
        return UptimeMinutes(self.served + other.served, self.failed + other.failed)

    @property
    def uptime(self) -> float | None:
        return 1 - self.failed / self.served if self.served else None


NO_MINUTES = UptimeMinutes()


def uptime_minutes(scope: ServingScope) -> dict[int, UptimeMinutes]:
    """Per model id, its minutes with traffic and with a system-class error in the
    scope's window (models without traffic are absent)."""
    served: dict[int, int] = defaultdict(int)
    failed: dict[int, int] = defaultdict(int)
    from_hours: list[Q] = []
    from_days: list[Q] = []
    from_raw: list[Q] = []
    for granularity, lo, hi in scope.segments():
        if granularity is None:
            from_raw.append(Q(timestamp__gte=lo, timestamp__lt=hi))
        elif granularity == RollupGranularity.HOUR or scope.uptime is None:
            from_hours.append(Q(bucket_start__gte=lo, bucket_start__lt=hi))
        else:
            from_days.append(Q(granularity=granularity, bucket_start__gte=lo, bucket_start__lt=hi))
    if from_days and scope.uptime is not None:
        days = scope.uptime.filter(any_of(from_days)).order_by().values_list("model_id")
        for model_id, up, down in days.annotate(Sum("served_minutes"), Sum("failed_minutes")):
            served[model_id] += up
            failed[model_id] += down
    if from_hours:
        bitmaps: dict[tuple[int, datetime], list[int]] = defaultdict(lambda: [0, 0])
        hours = scope.latency.filter(any_of(from_hours), granularity=RollupGranularity.HOUR)
        for model_id, hour, up, down in hours.order_by().values_list(
            "model_id", "bucket_start", "served_minutes", "failed_minutes"
        ):
            merged = bitmaps[(model_id, hour)]
            merged[0] |= up
            merged[1] |= down
        for (model_id, _), (up, down) in bitmaps.items():
            served[model_id] += up.bit_count()
            failed[model_id] += down.bit_count()
    if from_raw:
        system = Q(status=EventStatus.ERROR, error_type__in=SYSTEM_FAILURE_CLASSES)
        minutes = (
            scope.events.filter(any_of(from_raw))
            .order_by()
            .annotate(minute=TruncMinute("timestamp"))
            .values_list("model_id", "minute")
            .annotate(failures=Count("pk", filter=system))
        )
        for model_id, _, failures in minutes:
            served[model_id] += 1
            failed[model_id] += 1 if failures else 0
    return {m: UptimeMinutes(served[m], failed[m]) for m in served if served[m]}
