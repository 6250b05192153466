"""The scope of a request: what its filters select, and its window cut into parts read
at the coarsest granularity that fits (week, day and hour rollups, raw events)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.http import QueryDict

from lifecycle.catalog.models import (
    Deployment,
    LatencyRollup,
    RollupGranularity,
    ServingEvent,
    ServingRollup,
    UptimeRollup,
)
from lifecycle.catalog.serving.buckets import bucket_ceil, bucket_floor
from lifecycle.catalog.serving.filtersets import ServingRollupFilterSet

if TYPE_CHECKING:  # windows uses the buckets of this package while it loads
    from lifecycle.catalog.windows import TimeRange

_LEVELS = (RollupGranularity.WEEK, RollupGranularity.DAY, RollupGranularity.HOUR, None)
# The serving filters that take part of a model (its uptime days hold only for all of it).
_BELOW_THE_MODEL = ("version", "endpoint")


# --- the scope: filters and window ------------------------------------------------------


@dataclass(frozen=True)
class ServingScope:
    """What a set of filters selects: rollups by dimension (any time) and raw events by
    dimension and window, plus the window itself. A scope holds either the requests
    served (the default) or only the shadow copies of them (`shadow_copies`), never
    both: a copy is not a call, and every serving KPI but `shadow_inferences` leaves
    them out."""

    time_range: TimeRange
    rollups: QuerySet[ServingRollup]
    latency: QuerySet[LatencyRollup]
    events: QuerySet[ServingEvent]
    # No event is stored between the window's end and this moment (see `quiet_until`).
    quiet_until: datetime | None = None
    # The models' uptime days and weeks, when the scope takes whole models' requests
    # (None when it narrows them to versions or endpoints, or holds the shadow copies:
    # those days are read from the hours' minute bitmaps then).
    uptime: QuerySet[UptimeRollup] | None = None
    shadow_copies: bool = False

    def segments(self, series: str | None = None) -> list[tuple[str | None, datetime, datetime]]:
        """The window's parts; for a series by day or hour, no part coarser than its
        buckets (a week row cannot be split into its days)."""
        # A series by minute reads raw events only: there are no minute rollups.
        levels = {
            None: _LEVELS,
            "day": _LEVELS[1:],
            "hour": _LEVELS[2:],
            RollupGranularity.FIVE_MINUTES: (RollupGranularity.FIVE_MINUTES, None),
            "minute": (None,),
        }[series]
        return rollup_segments(
            self.time_range.start,
            self.time_range.end,
            levels=levels,
            quiet_until=self.quiet_until,
        )


def quiet_until(end: datetime) -> datetime:
    """The first stored event time at or after `end` within the week (UTC, from Monday)
    that `end` falls in, or the end of that week when there is none.

    A window ending now finds no event after its end (unless a client's clock runs
    ahead): the rollup of the hour or day it ends in then holds exactly the window's
    part of that bucket, so the partial last bucket is read from it instead of from the
    raw events. One look at the timestamp index decides it."""
    week_end = bucket_ceil(end, granularity=RollupGranularity.WEEK)
    if week_end == end:
        return end
    first_after = (
        ServingEvent.objects.filter(timestamp__gte=end, timestamp__lt=week_end)
        .order_by("timestamp")
        .values_list("timestamp", flat=True)
        .first()
    )
    return first_after or week_end


def _copies_or_not(
    rollups: QuerySet, latency: QuerySet, events: QuerySet, *, shadow_copies: bool
) -> tuple[QuerySet, QuerySet, QuerySet]:
    """The rows of shadow copies only, or of everything else: the rollups by their
    `shadow` column, the raw events by the deployments (as the refresh classified them)."""
    copy = Deployment.shadow_of_outer_event()
    return (
        rollups.filter(shadow=shadow_copies),
        latency.filter(shadow=shadow_copies),
        events.filter(copy if shadow_copies else ~copy),
    )


def serving_scope(
    params: QueryDict, *, now: datetime | None = None, shadow_copies: bool = False
) -> tuple[ServingScope, dict[str, list[str]]]:
    """The scope of `params` (SPEC.md's filters), and the filter errors if any.

    One filter set, validated once, narrows the rollups, the latency rollups and the raw
    events alike: they share the filtered fields (model, version, endpoint and the
    model's industry, team and serving mode). A named window ends at `now` (the
    moment of the KPI request; the current time when not given)."""
    filters = ServingRollupFilterSet(params, queryset=ServingRollup.objects.all(), now=now)
    time_range = filters.time_range
    if not filters.is_valid():
        return (
            ServingScope(
                time_range=time_range,
                rollups=ServingRollup.objects.none(),
                latency=LatencyRollup.objects.none(),
                events=ServingEvent.objects.none(),
            ),
            dict(filters.errors),
        )
    raw = filters.filter_queryset(ServingEvent.objects.all())
    narrowed = shadow_copies or any(
        filters.form.cleaned_data.get(name) for name in _BELOW_THE_MODEL
    )
    rollups, latency, events = _copies_or_not(
        filters.qs,
        filters.filter_queryset(LatencyRollup.objects.all()),
        raw.filter(timestamp__gte=time_range.start, timestamp__lt=time_range.end),
        shadow_copies=shadow_copies,
    )
    scope = ServingScope(
        time_range=time_range,
        rollups=rollups,
        latency=latency,
        events=events,
        quiet_until=quiet_until(time_range.end),
        uptime=None if narrowed else filters.filter_queryset(UptimeRollup.objects.all()),
        shadow_copies=shadow_copies,
    )
    return scope, {}


def serving_scope_where(
    *, time_range: TimeRange, shadow_copies: bool = False, **lookups: Any
) -> ServingScope:
    """The scope of plain lookups on the fields the rollups and the raw events share
    (`model_id`, `model_version_id`, `endpoint_id`, `endpoint_id__in` ...) over
    `time_range`: for a phase that already knows which versions and endpoints it wants,
    rather than holding a request's filters."""
    where = Q(**lookups)
    whole_models = not shadow_copies and all(
        key.split("__")[0] in ("model", "model_id") for key in lookups
    )
    rollups, latency, events = _copies_or_not(
        ServingRollup.objects.filter(where),
        LatencyRollup.objects.filter(where),
        ServingEvent.objects.filter(
            where, timestamp__gte=time_range.start, timestamp__lt=time_range.end
        ),
        shadow_copies=shadow_copies,
    )
    return ServingScope(
        time_range=time_range,
        rollups=rollups,
        latency=latency,
        events=events,
        quiet_until=quiet_until(time_range.end),
        uptime=UptimeRollup.objects.filter(where) if whole_models else None,
        shadow_copies=shadow_copies,
    )


def rollup_segments(
    start: datetime,
    end: datetime,
    *,
    levels: tuple = _LEVELS,
    quiet_until: datetime | None = None,
) -> list[tuple[str | None, datetime, datetime]]:
    """[start, end) as (granularity, lo, hi) parts, coarsest first; granularity None
    means raw events (the partial hours at either edge).

    When no event lies in [end, quiet_until), a bucket that `end` cuts holds only the
    window's events: it is read whole (that part's `hi` is then past `end`) if it starts
    inside the window."""
    segments: list[tuple[str | None, datetime, datetime]] = []

    def split(lo: datetime, hi: datetime, levels: tuple) -> None:
        level, finer = levels[0], levels[1:]
        if level is None:
            segments.append((None, lo, hi))
            return
        a, b = bucket_ceil(lo, granularity=level), bucket_floor(hi, granularity=level)
        if (
            hi == end
            and b < hi
            and b >= lo
            and quiet_until is not None
            and bucket_ceil(hi, granularity=level) <= quiet_until
        ):
            hi = b = bucket_ceil(hi, granularity=level)
        if a < b:
            if lo < a:
                split(lo, a, finer)
            segments.append((level, a, b))
            if b < hi:
                split(b, hi, finer)
        else:
            split(lo, hi, finer)

    if start < end:
        split(start, end, levels)
    return segments


def any_of(parts: Iterable[Q]) -> Q:
    """The OR of `parts` built in one node (`q |= part` in a loop copies the tree each
    time: quadratic, 90 ms for the deployment page's few hundred conditions); with no
    parts, a condition no row meets."""
    parts = list(parts)
    if not parts:
        return Q(pk__in=[])
    return Q(*parts, _connector=Q.OR)


def _any_of(parts: list[Q]) -> Q | None:
    return any_of(parts) if parts else None


def rollup_q(scope: ServingScope, series: str | None = None) -> Q | None:
    """The rollup rows of the window's parts that rollups answer (None: there are none)."""
    return _any_of(
        [
            Q(granularity=g, bucket_start__gte=lo, bucket_start__lt=hi)
            for g, lo, hi in scope.segments(series)
            if g is not None
        ]
    )


def raw_q(scope: ServingScope, series: str | None = None) -> Q | None:
    """The raw events of the window's partial hours (None: there are none)."""
    return _any_of(
        [
            Q(timestamp__gte=lo, timestamp__lt=hi)
            for g, lo, hi in scope.segments(series)
            if g is None
        ]
    )
