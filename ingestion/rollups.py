"""Rollups: serving events summed per hour, day and week, model version, endpoint and
caller, plus a latency histogram per 5 minutes, hour, day and week, model version and
endpoint, and uptime's minutes per model and day or week; shadow copies in rows of their
own (see `ingestion.shadow_marks`), and out of uptime's model days and weeks.

Recomputed, never incremented: a stale hour is summed again from its raw events, a day
from its hours and a week (Monday to Sunday, UTC) from its days, after deleting what was
there. Weeks exist so that a 30- or 90-day window reads a handful of rows per model
version instead of one per day. Running a refresh twice, or killing
it half-way (its transaction rolls back and its marks stay), changes nothing. Refreshes
take a lock so that two workers never merge the same day from each other's
half-written hours. The database does the summing (GROUP BY, also for the latency
bucket of each event); Python only regroups the histogram counts.

There are no minute rollups: with sparse traffic they would hold as many rows as there
are events, and with dense traffic millions. The partial hours at the edges of a
window are read from the raw events instead (see `lifecycle.catalog.serving`). What a
minute says about uptime (was there traffic, was there a system-class error) is kept as
two 60-bit bitmaps on each hour's latency rollup, and counted per model for days and
weeks (`UptimeRollup`). A day's charts read 5-minute latency rollups (callers merged,
at most 12 rows per version, endpoint and hour), written only for the hours younger
than KPIBOARD_FIVE_MINUTE_ROLLUP_DAYS and pruned past it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Count, FloatField, Max, Min, Q, Sum
from django.db.models.expressions import RawSQL
from django.db.models.functions import (
    Coalesce,
    ExtractMinute,
    Floor,
    TruncDay,
    TruncHour,
    TruncWeek,
)
from django.utils import timezone

from ingestion.faults import fault_point
from ingestion.models import RollupMark
from ingestion.retention import retention_cutoff
from lifecycle.catalog.models import (
    ROLLUP_COUNTS,
    SYSTEM_FAILURE_CLASSES,
    Deployment,
    EventStatus,
    LatencyRollup,
    ModelVersion,
    RollupGranularity,
    ServingEvent,
    ServingRollup,
    UptimeRollup,
)
from lifecycle.catalog.serving.buckets import bucket_floor, five_minute_rollups_cutoff
from lifecycle.catalog.serving.histograms import (
    HistogramSum,
    histogram_encode,
    latency_bucket_expression,
)
from lifecycle.catalog.serving.sums import ERROR_COLUMNS

logger = logging.getLogger(__name__)

_LOCK_KEY = 0x6B7069  # "kpi": one rollup writer at a time on PostgreSQL
_CHUNK = 500
_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)
_FIVE_MINUTES = timedelta(minutes=5)


def _clusters(
    moments: list[datetime], step: timedelta, max_gap: timedelta
) -> Iterable[tuple[datetime, datetime]]:
    """Half-open ranges covering sorted bucket starts, split where a gap exceeds
    `max_gap`, so a late event does not make one query read weeks of events."""
    start = previous = moments[0]
    for moment in moments[1:]:
        if moment - previous > max_gap:
            yield start, previous + step
            start = moment
        previous = moment
    yield start, previous + step


def _numeric_prediction() -> RawSQL:
    """The prediction as a float when it is a JSON number, else NULL."""
    if connection.vendor == "postgresql":
        sql = (
            "CASE WHEN jsonb_typeof(catalog_servingevent.prediction) = 'number' "
            "THEN (catalog_servingevent.prediction #>> '{}')::double precision END"
        )
    else:
        sql = (
            "CASE WHEN json_type(catalog_servingevent.prediction) IN ('integer', 'real') "
            "THEN CAST(json_extract(catalog_servingevent.prediction, '$') AS REAL) END"
        )
    return RawSQL(sql, [], output_field=FloatField())


_SERVING_FIELDS = (
    "granularity",
    "bucket_start",
    "model_id",
    "model_version_id",
    "endpoint_id",
    "shadow",
    "caller",
    *ROLLUP_COUNTS,
    "latency_count",
    "latency_sum_ms",
    "prediction_count",
    "prediction_sum",
    "prediction_sum_squares",
    "prediction_min",
    "prediction_max",
)
_SUMMED = (
    *ROLLUP_COUNTS,
    "latency_count",
    "latency_sum_ms",
    "prediction_count",
    "prediction_sum",
    "prediction_sum_squares",
)


def _five_minute_slot() -> Floor:
    """Which 5-minute part of its hour an event falls in (0 to 11)."""
    return Floor(ExtractMinute("timestamp") / 5)


def _bucketed(events: Any, granularity: str) -> tuple[Any, list[str]]:
    """`events` annotated with their bucket of `granularity` (hour or 5 minutes), and
    the fields that name it: the hour, and for 5 minutes its slot (`_bucket_start`)."""
    events = events.annotate(bucket=TruncHour("timestamp"))
    if granularity == RollupGranularity.HOUR:
        return events, ["bucket"]
    return events.annotate(slot=_five_minute_slot()), ["bucket", "slot"]


def _bucket_start(hour: datetime, slot: float | None) -> datetime:
    return hour if slot is None else hour + int(slot) * _FIVE_MINUTES


def _hour_rows(version_ids: list[int], lo: datetime, hi: datetime) -> list[tuple]:
    """Hour rollup rows of some versions over [lo, hi), summed by the database in one
    pass over the events of those hours (asked version by version, a rebuild read every
    hour's events once per version), shadow copies in rows of their own."""
    ok = Q(status=EventStatus.OK, latency_ms__isnull=False)
    rows = (
        ServingEvent.objects.filter(
            model_version_id__in=version_ids, timestamp__gte=lo, timestamp__lt=hi
        )
        .order_by()
        .annotate(
            bucket=TruncHour("timestamp"),
            numeric=_numeric_prediction(),
            shadow=Deployment.shadow_of_outer_event(),
        )
        .values("bucket", "model_id", "model_version_id", "endpoint_id", "shadow", "caller")
        .annotate(
            inferences=Count("pk"),
            errors=Count("pk", filter=Q(status=EventStatus.ERROR)),
            **{
                column: Count("pk", filter=Q(status=EventStatus.ERROR, error_type=c))
                for column, c in ERROR_COLUMNS.items()
            },
            # An event stored without a cost (written straight to the table, e.g. by the
            # demo seeder) costs its model's unit cost, as the ingestion path would set.
            cost_usd=Sum(Coalesce("cost_usd", "model__unit_cost_usd")),
            latency_count=Count("pk", filter=ok),
            latency_sum_ms=Sum("latency_ms", filter=ok),
            prediction_count=Count("numeric"),
            prediction_sum=Sum("numeric"),
            prediction_sum_squares=Sum(_square()),
            prediction_min=Min("numeric"),
            prediction_max=Max("numeric"),
        )
    )
    return [
        (
            RollupGranularity.HOUR,
            r["bucket"],
            r["model_id"],
            r["model_version_id"],
            r["endpoint_id"],
            bool(r["shadow"]),
            r["caller"],
            r["inferences"],
            r["errors"],
            *(r[c] for c in ERROR_COLUMNS),
            r["cost_usd"] or 0,
            r["latency_count"],
            r["latency_sum_ms"] or 0.0,
            r["prediction_count"],
            r["prediction_sum"] or 0.0,
            r["prediction_sum_squares"] or 0.0,
            r["prediction_min"],
            r["prediction_max"],
        )
        for r in rows
    ]


def _square() -> RawSQL:
    numeric = _numeric_prediction()
    return RawSQL(f"(({numeric.sql}) * ({numeric.sql}))", [], output_field=FloatField())


def _hour_histograms(
    version_ids: list[int],
    lo: datetime,
    hi: datetime,
    granularity: str = RollupGranularity.HOUR,
) -> dict[tuple, bytes]:
    """Latency histograms of some versions' successful events over [lo, hi), per (hour
    or 5 minutes, model, version, endpoint, shadow), encoded."""
    events, bucket_fields = _bucketed(
        ServingEvent.objects.filter(
            model_version_id__in=version_ids,
            timestamp__gte=lo,
            timestamp__lt=hi,
            status=EventStatus.OK,
            latency_ms__isnull=False,
        ).order_by(),
        granularity,
    )
    counted = (
        events.annotate(
            index=latency_bucket_expression("latency_ms"),
            shadow=Deployment.shadow_of_outer_event(),
        )
        .values_list(
            *bucket_fields, "model_id", "model_version_id", "endpoint_id", "shadow", "index"
        )
        .annotate(n=Count("pk"))
    )
    groups: dict[tuple, list[tuple[int, int]]] = defaultdict(list)
    for row in counted:
        *bucket, model_id, version_id, endpoint_id, shadow, index, n = row
        start = _bucket_start(bucket[0], bucket[1] if len(bucket) > 1 else None)
        groups[(start, model_id, version_id, endpoint_id, bool(shadow))].append((int(index), n))
    histograms = {}
    for key, pairs in groups.items():
        pairs.sort()
        histograms[key] = histogram_encode(
            (
                np.array([i for i, _ in pairs], dtype=np.int16),
                np.array([n for _, n in pairs], dtype=np.int64),
            )
        )
    return histograms


def _minute_counts(
    version_ids: list[int], lo: datetime, hi: datetime, five_from: datetime | None
) -> tuple[dict[tuple, tuple], list[tuple]]:
    """One pass over some versions' events in [lo, hi) by minute: per (hour, model,
    version, endpoint, shadow) the bitmap of the minutes it served in and of those with
    a system-class error (bit i: the hour's i-th minute); and from `five_from` on (None:
    not at all) its 5-minute rows' counts, as serving rows without a caller. Shadow
    copies get bitmaps and rows of their own, as in the hour rows, so that a copy's
    failure never marks the model's minute down."""
    counted = (
        ServingEvent.objects.filter(
            model_version_id__in=version_ids, timestamp__gte=lo, timestamp__lt=hi
        )
        .order_by()
        .annotate(
            bucket=TruncHour("timestamp"),
            minute=ExtractMinute("timestamp"),
            shadow=Deployment.shadow_of_outer_event(),
        )
        .values_list("bucket", "model_id", "model_version_id", "endpoint_id", "shadow", "minute")
        .annotate(
            failed=Count(
                "pk", filter=Q(status=EventStatus.ERROR, error_type__in=SYSTEM_FAILURE_CLASSES)
            ),
            inferences=Count("pk"),
            errors=Count("pk", filter=Q(status=EventStatus.ERROR)),
            **{
                column: Count("pk", filter=Q(status=EventStatus.ERROR, error_type=c))
                for column, c in ERROR_COLUMNS.items()
            },
            cost_usd=Sum(Coalesce("cost_usd", "model__unit_cost_usd")),
        )
    )
    minutes: dict[tuple, tuple[int, int]] = {}
    fives: dict[tuple, list] = {}
    for bucket, model_id, version_id, endpoint_id, shadow, minute, failed, *counts in counted:
        key = (bucket, model_id, version_id, endpoint_id, bool(shadow))
        served, down = minutes.get(key, (0, 0))
        bit = 1 << int(minute)
        minutes[key] = (served | bit, down | bit if failed else down)
        if five_from is not None and bucket >= five_from:
            five = (bucket + int(minute) // 5 * _FIVE_MINUTES, *key[1:])
            counts[-1] = counts[-1] or 0
            if five in fives:
                fives[five] = [a + b for a, b in zip(fives[five], counts, strict=True)]
            else:
                fives[five] = counts
    rows = [(RollupGranularity.FIVE_MINUTES, *key, "", *counts) for key, counts in fives.items()]
    return minutes, rows


def _hours_merged(histograms: dict[tuple, bytes]) -> dict[tuple, bytes]:
    """5-minute histograms merged into their hours'."""
    hours: dict[tuple, HistogramSum] = defaultdict(HistogramSum)
    for (start, *rest), blob in histograms.items():
        hours[(bucket_floor(start, granularity=RollupGranularity.HOUR), *rest)].add_blob(blob)
    return {key: histogram_encode(total.histogram()) for key, total in hours.items()}


def _five_minute_bits(minutes: dict[tuple, tuple]) -> dict[tuple, tuple]:
    """The hours' minute bitmaps cut into their 5-minute buckets' (5 bits each)."""
    cut = {}
    for (hour, *rest), (served, down) in minutes.items():
        for slot in range(12):
            part = (served >> 5 * slot) & 0b11111
            if part:
                cut[(hour + slot * _FIVE_MINUTES, *rest)] = (part, (down >> 5 * slot) & 0b11111)
    return cut


_EMPTY_HISTOGRAM = histogram_encode((np.zeros(0, dtype=np.int16), np.zeros(0, dtype=np.int64)))
# The ServingRollup columns a LatencyRollup row sums over its callers (in _SERVING_FIELDS
# they come right after the shadow flag and the caller, in this order).
_COUNTED = ROLLUP_COUNTS
_LATENCY_FIELDS = (
    "granularity",
    "bucket_start",
    "model_id",
    "model_version_id",
    "endpoint_id",
    "shadow",
    *_COUNTED,
    "histogram",
    "served_minutes",
    "failed_minutes",
)


def _latency_rows(
    serving: list[tuple], histograms: dict[tuple, bytes], minutes: dict[tuple, tuple]
) -> list[tuple]:
    """LatencyRollup rows: the serving rows' counts and cost summed over callers, with
    the histogram and minute bitmaps of their (bucket, model, version, endpoint, shadow),
    empty when nothing succeeded (bitmaps: 0 in day and week rows)."""
    counts: dict[tuple, list] = {}
    for granularity, bucket, model_id, version_id, endpoint_id, shadow, _caller, *values in serving:
        key = (granularity, bucket, model_id, version_id, endpoint_id, shadow)
        summed = values[: len(_COUNTED)]
        if key in counts:
            counts[key] = [a + b for a, b in zip(counts[key], summed, strict=True)]
        else:
            counts[key] = list(summed)
    return [
        (*key, *sums, histograms.get(key[1:], _EMPTY_HISTOGRAM), *minutes.get(key[1:], (0, 0)))
        for key, sums in counts.items()
    ]


# Each coarser rollup is summed from the one below it: days from hours, weeks from days.
_FINER = {
    RollupGranularity.DAY: RollupGranularity.HOUR,
    RollupGranularity.WEEK: RollupGranularity.DAY,
}
_TRUNC = {RollupGranularity.DAY: TruncDay, RollupGranularity.WEEK: TruncWeek}


def _coarse_rows(version_id: int, lo: datetime, hi: datetime, granularity: str) -> list[tuple]:
    """Day (or week) rollup rows of one version over [lo, hi), summed from its hour (or
    day) rows."""
    rows = (
        ServingRollup.objects.filter(
            granularity=_FINER[granularity],
            model_version_id=version_id,
            bucket_start__gte=lo,
            bucket_start__lt=hi,
        )
        .order_by()
        .annotate(bucket=_TRUNC[granularity]("bucket_start"))
        .values("bucket", "model_id", "endpoint_id", "shadow", "caller")
        .annotate(
            **{f"s_{c}": Sum(c) for c in _SUMMED},
            p_min=Min("prediction_min"),
            p_max=Max("prediction_max"),
        )
    )
    return [
        (
            granularity,
            r["bucket"],
            r["model_id"],
            version_id,
            r["endpoint_id"],
            r["shadow"],
            r["caller"],
            *(r[f"s_{c}"] for c in _SUMMED),
            r["p_min"],
            r["p_max"],
        )
        for r in rows
    ]


def _coarse_histograms(
    version_id: int, lo: datetime, hi: datetime, granularity: str
) -> dict[tuple, bytes]:
    """Day (or week) latency histograms of one version over [lo, hi), per (bucket,
    model, version, endpoint, shadow), merged from its hour (or day) histograms."""
    groups: dict[tuple, HistogramSum] = defaultdict(HistogramSum)
    finer = LatencyRollup.objects.filter(
        granularity=_FINER[granularity],
        model_version_id=version_id,
        bucket_start__gte=lo,
        bucket_start__lt=hi,
    ).values_list("bucket_start", "model_id", "endpoint_id", "shadow", "histogram")
    for bucket, model_id, endpoint_id, shadow, blob in finer:
        start = bucket_floor(bucket, granularity=granularity)
        groups[(start, model_id, version_id, endpoint_id, shadow)].add_blob(blob)
    return {key: histogram_encode(total.histogram()) for key, total in groups.items()}


def _insert(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Many rows in few statements: the ORM's bulk_create spends most of its time
    building model instances, which rollups do not need."""
    if not rows:
        return
    names = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            from psycopg2.extras import execute_values

            execute_values(
                cursor.cursor, f"INSERT INTO {table} ({names}) VALUES %s", rows, page_size=2000
            )
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def _adapt(rows: list[tuple]) -> list[tuple]:
    """Values the raw cursor takes: Decimal and datetime pass on PostgreSQL; SQLite wants
    text for both, as Django stores them."""
    if connection.vendor == "postgresql":
        return rows
    adapted = []
    for row in rows:
        adapted.append(
            tuple(
                connection.ops.adapt_datetimefield_value(v)
                if isinstance(v, datetime)
                else (str(v) if type(v).__name__ == "Decimal" else v)
                for v in row
            )
        )
    return adapted


def _write(
    serving: list[tuple],
    histograms: dict[tuple, bytes],
    minutes: dict[tuple, tuple] | None = None,
    *,
    latency_only: bool = False,
) -> None:
    if not latency_only:
        _insert(ServingRollup._meta.db_table, _SERVING_FIELDS, _adapt(serving))
    latency = _latency_rows(serving, histograms, minutes or {})
    _insert(LatencyRollup._meta.db_table, _LATENCY_FIELDS, _adapt(latency))


def _recompute_hours(pairs: set[tuple[int, datetime]], lo: datetime, hi: datetime) -> None:
    """Recompute the hour rollups of the (version, hour) `pairs`, all within [lo, hi),
    from one pass over those hours' events. Only the marked pairs are written: an
    unmarked hour in between keeps what it has (its events may be past retention)."""
    hours: dict[int, list[datetime]] = defaultdict(list)
    for version_id, hour in pairs:
        hours[version_id].append(hour)
    for version_id, moments in hours.items():
        for model in (ServingRollup, LatencyRollup):
            model.objects.filter(
                granularity=RollupGranularity.HOUR,
                model_version_id=version_id,
                bucket_start__in=moments,
            ).delete()
        fives = [h + slot * _FIVE_MINUTES for h in moments for slot in range(12)]
        for start in range(0, len(fives), _CHUNK):
            LatencyRollup.objects.filter(
                granularity=RollupGranularity.FIVE_MINUTES,
                model_version_id=version_id,
                bucket_start__in=fives[start : start + _CHUNK],
            ).delete()
    versions = sorted(hours)
    # 5-minute rows only for the hours young enough to keep them; those hours' histograms
    # are their 5-minute ones merged (one pass over their events, not two).
    cutoff = five_minute_rollups_cutoff()
    five_from = max(lo, bucket_floor(cutoff, granularity=RollupGranularity.HOUR)) if cutoff else lo
    if five_from >= hi:
        five_from = None
    minutes, fives = _minute_counts(versions, lo, hi, five_from)
    histograms: dict[tuple, bytes] = {}
    if five_from is None or lo < five_from:
        histograms.update(_hour_histograms(versions, lo, five_from or hi))
    if five_from is not None:
        five_histograms = _hour_histograms(versions, five_from, hi, RollupGranularity.FIVE_MINUTES)
        histograms.update(_hours_merged(five_histograms))
    serving = [r for r in _hour_rows(versions, lo, hi) if (r[3], r[1]) in pairs]
    _write(serving, histograms, minutes)
    if five_from is not None:
        fives = [
            r
            for r in fives
            if (r[3], bucket_floor(r[1], granularity=RollupGranularity.HOUR)) in pairs
        ]
        _write(fives, five_histograms, _five_minute_bits(minutes), latency_only=True)


def _recompute(version_id: int, lo: datetime, hi: datetime, granularity: str) -> None:
    """Recompute one version's day (or week) rollups over [lo, hi) from its hours (or
    days)."""
    for model in (ServingRollup, LatencyRollup):
        model.objects.filter(
            granularity=granularity,
            model_version_id=version_id,
            bucket_start__gte=lo,
            bucket_start__lt=hi,
        ).delete()
    _write(
        _coarse_rows(version_id, lo, hi, granularity),
        _coarse_histograms(version_id, lo, hi, granularity),
    )


def _uptime_recompute(model_id: int, lo: datetime, hi: datetime, granularity: str) -> None:
    """Recompute one model's uptime minutes per day over [lo, hi) from its hour rows
    (the minute bitmaps of all its versions and endpoints OR-ed per hour, then counted),
    or per week from its days. Requests only: a shadow copy is not a request, so the
    shadow rows' bitmaps are left out (a failing shadow version does not take the model
    down)."""
    UptimeRollup.objects.filter(
        granularity=granularity, model_id=model_id, bucket_start__gte=lo, bucket_start__lt=hi
    ).delete()
    counts: dict[datetime, list[int]] = defaultdict(lambda: [0, 0])
    if granularity == RollupGranularity.DAY:
        merged: dict[datetime, list[int]] = defaultdict(lambda: [0, 0])
        hours = LatencyRollup.objects.filter(
            granularity=RollupGranularity.HOUR,
            model_id=model_id,
            shadow=False,
            bucket_start__gte=lo,
            bucket_start__lt=hi,
        ).values_list("bucket_start", "served_minutes", "failed_minutes")
        for hour, served, failed in hours:
            bits = merged[hour]
            bits[0] |= served
            bits[1] |= failed
        for hour, (served, failed) in merged.items():
            day = counts[bucket_floor(hour, granularity=granularity)]
            day[0] += served.bit_count()
            day[1] += failed.bit_count()
    else:
        days = UptimeRollup.objects.filter(
            granularity=_FINER[granularity],
            model_id=model_id,
            bucket_start__gte=lo,
            bucket_start__lt=hi,
        ).values_list("bucket_start", "served_minutes", "failed_minutes")
        for day, served, failed in days:
            week = counts[bucket_floor(day, granularity=granularity)]
            week[0] += served
            week[1] += failed
    rows = [
        (granularity, start, model_id, served, failed)
        for start, (served, failed) in counts.items()
        if served
    ]
    _insert(
        UptimeRollup._meta.db_table,
        ("granularity", "bucket_start", "model_id", "served_minutes", "failed_minutes"),
        _adapt(rows),
    )


def _lock(*, wait: bool = True) -> bool:
    """Take the rollup writer's lock for this transaction; without `wait`, give up (and
    return False) when another refresh holds it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            if wait:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
                return True
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_LOCK_KEY])
            return bool(cursor.fetchone()[0])
    # SQLite: settings open every transaction IMMEDIATE, so writers are already serial.
    return True


def _marks_recompute(pairs: set[tuple[int, datetime]]) -> None:
    """Recompute the (version, hour) `pairs`, their days and their weeks."""
    # Runs of stale hours, every version's at once, from the raw events (a short gap is
    # read through rather than split into more queries) ...
    for lo, hi in _clusters(sorted({hour for _, hour in pairs}), _HOUR, 3 * _HOUR):
        _recompute_hours({p for p in pairs if lo <= p[1] < hi}, lo, hi)
    # ... then each version's whole days from its hours, and weeks from days.
    days: dict[int, set[datetime]] = defaultdict(set)
    for version_id, hour in pairs:
        days[version_id].add(bucket_floor(hour, granularity=RollupGranularity.DAY))
    for version_id, moments in days.items():
        _days_and_weeks_recompute(_recompute, version_id, moments)
    # Uptime's days and weeks are the model's, over all its versions at once.
    model_of = dict(ModelVersion.objects.filter(pk__in=list(days)).values_list("pk", "model_id"))
    model_days: dict[int, set[datetime]] = defaultdict(set)
    for version_id, moments in days.items():
        model_days[model_of[version_id]] |= moments
    for model_id, moments in model_days.items():
        _days_and_weeks_recompute(_uptime_recompute, model_id, moments)


def _days_and_weeks_recompute(
    recompute: Callable[[int, datetime, datetime, str], None], key: int, days: set[datetime]
) -> None:
    """`recompute` the runs of `days` of one version (or model), then their weeks."""
    for lo, hi in _clusters(sorted(days), _DAY, _DAY):
        recompute(key, lo, hi, RollupGranularity.DAY)
    weeks = sorted({bucket_floor(d, granularity=RollupGranularity.WEEK) for d in days})
    for lo, hi in _clusters(weeks, _WEEK, _WEEK):
        recompute(key, lo, hi, RollupGranularity.WEEK)


# A database that cannot be reached is not the marks' fault: they stay for the next run.
_TRANSIENT = (OperationalError, InterfaceError)


def _marks_isolate(marks: list[tuple[int, int, datetime]]) -> set[int]:
    """Recompute the marks' hours one (version, hour) at a time, each in a savepoint;
    records the failure on the marks of each hour that fails and returns their ids."""
    by_pair: dict[tuple[int, datetime], list[int]] = defaultdict(list)
    for pk, version_id, hour in marks:
        by_pair[(version_id, bucket_floor(hour, granularity=RollupGranularity.HOUR))].append(pk)
    failed: set[int] = set()
    for pair, ids in sorted(by_pair.items()):
        try:
            with transaction.atomic():
                _marks_recompute({pair})
        except _TRANSIENT:
            raise
        except Exception as error:
            logger.exception(
                "rollups of model version %s at %s failed; the mark is kept and skipped",
                *pair,
            )
            RollupMark.objects.filter(pk__in=ids).update(
                failed_at=timezone.now(), error=f"{type(error).__name__}: {error}"[:1000]
            )
            failed.update(ids)
    return failed


def rollups_refresh_batch(*, max_marks: int = 2000, wait: bool = True) -> int:
    """Recompute the hours (and their days) of up to `max_marks` marks in one
    transaction; returns how many marks it consumed (0 when there was nothing to do, or
    when another refresh is at work and `wait` is False).

    When the batch fails, its hours are recomputed one by one: a failing hour (say, an
    event whose next week would overflow the calendar) is logged, recorded on its marks
    (`failed_at`, `error`) and left out of later refreshes, and every other hour is
    rolled up."""
    with transaction.atomic():
        if not _lock(wait=wait):
            return 0
        marks = list(
            RollupMark.objects.filter(failed_at__isnull=True)
            .order_by("pk")
            .values_list("pk", "model_version_id", "hour_start")[:max_marks]
        )
        if not marks:
            return 0
        pairs = {
            (version_id, bucket_floor(hour, granularity=RollupGranularity.HOUR))
            for _, version_id, hour in marks
        }
        fault_point("before_write")
        failed: set[int] = set()
        try:
            with transaction.atomic():
                _marks_recompute(pairs)
        except _TRANSIENT:
            raise
        except Exception:
            failed = _marks_isolate(marks)
        ids = [pk for pk, _, _ in marks if pk not in failed]
        for start in range(0, len(ids), _CHUNK):
            RollupMark.objects.filter(pk__in=ids[start : start + _CHUNK]).delete()
    return len(marks)


def rollups_refresh(*, max_marks: int = 2000, wait: bool = True) -> int:
    """Work through every mark, a batch per transaction; returns the marks consumed.

    Without `wait` it steps aside when another refresh holds the lock: pushes enqueue a
    refresh after every commit, and under load most of them would otherwise queue up
    behind the one at work to find nothing left. The minute sweep picks up any mark
    committed after the working refresh looked for the last time."""
    total = 0
    while True:
        done = rollups_refresh_batch(max_marks=max_marks, wait=wait)
        total += done
        if done < max_marks:
            return total
        fault_point("mid_batch")


def rollups_mark(*, start: datetime | None = None, end: datetime | None = None) -> int:
    """Mark every hour that holds events in [start, end) as stale; returns the count."""
    events = ServingEvent.objects.all()
    if start is not None:
        events = events.filter(timestamp__gte=start)
    if end is not None:
        events = events.filter(timestamp__lt=end)
    # Hour by hour, so that a rebuild writes the rollups of neighbouring hours of every
    # version together: a window's rows then share pages instead of lying one or two to
    # a page among other hours of the same version.
    pairs = list(
        events.order_by()
        .annotate(hour=TruncHour("timestamp"))
        .values_list("model_version_id", "hour")
        .distinct()
        .order_by("hour", "model_version_id")
    )
    _insert(RollupMark._meta.db_table, ("model_version_id", "hour_start"), _adapt(pairs))
    return len(pairs)


def rollups_rebuild(*, start: datetime | None = None, end: datetime | None = None) -> int:
    """Drop the rollups of the whole days touching [start, end) (all when not given) and
    recompute them from the raw events; returns the number of hours recomputed. Panels
    show partial numbers for that range while it runs. Days older than the raw-event
    retention are left as they are: their events are gone."""
    lo = bucket_floor(start, granularity=RollupGranularity.DAY) if start is not None else None
    hi = bucket_floor(end, granularity=RollupGranularity.DAY) + _DAY if end is not None else None
    cutoff = retention_cutoff()
    if cutoff is not None:
        # Days whose raw events were pruned (even partly) keep the rollups they have.
        kept_from = bucket_floor(cutoff, granularity=RollupGranularity.DAY) + _DAY
        lo = max(lo, kept_from) if lo is not None else kept_from
    if hi is not None and end == bucket_floor(end, granularity=RollupGranularity.DAY):
        hi = end
    with transaction.atomic():
        _lock()
        for model in (ServingRollup, LatencyRollup, UptimeRollup):
            # Weeks may reach past the range; they are recomputed whole below.
            rows = model.objects.exclude(granularity=RollupGranularity.WEEK)
            if lo is not None:
                rows = rows.filter(bucket_start__gte=lo)
            if hi is not None:
                rows = rows.filter(bucket_start__lt=hi)
            rows.delete()
        # Marks already waiting in the range are covered by the ones written next.
        waiting = RollupMark.objects.all()
        if lo is not None:
            waiting = waiting.filter(hour_start__gte=lo)
        if hi is not None:
            waiting = waiting.filter(hour_start__lt=hi)
        waiting.delete()
        marked = rollups_mark(start=lo, end=hi)
    rollups_refresh(max_marks=getattr(settings, "KPIBOARD_ROLLUP_BATCH_MARKS", 2000))
    _weeks_recompute(lo, hi)
    return marked


def _weeks_recompute(lo: datetime | None, hi: datetime | None) -> None:
    """Recompute, from the day rows, every week touching [lo, hi) (all when not given)
    of every version that has day or week rows there: a week whose days all lost their
    events must lose its row too."""
    week_lo = bucket_floor(lo, granularity=RollupGranularity.WEEK) if lo is not None else None
    week_hi = (
        bucket_floor(hi - timedelta(microseconds=1), granularity=RollupGranularity.WEEK) + _WEEK
        if hi is not None
        else None
    )

    def spans(rows: Any, key: str) -> Iterable[tuple[int, datetime, datetime]]:
        """Each `key` with day or week rows in the weeks, and the weeks to recompute."""
        if week_lo is not None:
            rows = rows.filter(bucket_start__gte=week_lo)
        if week_hi is not None:
            rows = rows.filter(bucket_start__lt=week_hi)
        found = (
            rows.order_by()
            .values(key)
            .annotate(first=Min("bucket_start"), last=Max("bucket_start"))
        )
        for span in found:
            first = bucket_floor(span["first"], granularity=RollupGranularity.WEEK)
            last = bucket_floor(span["last"], granularity=RollupGranularity.WEEK) + _WEEK
            yield (
                span[key],
                week_lo if week_lo is not None else first,
                week_hi if week_hi is not None else last,
            )

    with transaction.atomic():
        _lock()
        days_and_weeks = [RollupGranularity.DAY, RollupGranularity.WEEK]
        versions = ServingRollup.objects.filter(granularity__in=days_and_weeks)
        for version_id, start, end in spans(versions, "model_version_id"):
            _recompute(version_id, start, end, RollupGranularity.WEEK)
        for model_id, start, end in spans(UptimeRollup.objects.all(), "model_id"):
            _uptime_recompute(model_id, start, end, RollupGranularity.WEEK)
