"""Rollups: serving events summed per minute, hour and day, model version, endpoint and
caller, plus a latency histogram per minute, hour and day, model version and endpoint.

Recomputed, never incremented: a minute is summed again from its raw events, an hour
from its minutes and a day from its hours, after deleting what was there. Running a
refresh twice, or killing it half-way (its transaction rolls back and its marks stay),
changes nothing. Refreshes take a lock so that two workers never merge the same hour
from each other's half-written minutes.
"""

from __future__ import annotations

import logging
import math
import os
import signal
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection, transaction
from django.db.models.functions import TruncMinute

from ingestion.models import RollupMark
from lifecycle.catalog.latency import (
    histogram_decode,
    histogram_encode,
    histograms_merge,
    latency_bucket_indexes,
)
from lifecycle.catalog.models import (
    FailureClass,
    LatencyRollup,
    RegisteredModel,
    RollupGranularity,
    ServingEvent,
    ServingRollup,
)

logger = logging.getLogger(__name__)

_LOCK_KEY = 0x6B7069  # "kpi": one rollup writer at a time on PostgreSQL
_CHUNK = 500
ERROR_COLUMNS = {f"errors_{c}": c for c in FailureClass.values}
_SUM_COLUMNS = [
    "inferences",
    "errors",
    *ERROR_COLUMNS,
    "cost_e8",
    "latency_count",
    "latency_sum_ms",
    "prediction_count",
    "prediction_sum",
    "prediction_sum_squares",
]
_KEYS = ["bucket", "model_id", "model_version_id", "endpoint_id", "caller"]
_LATENCY_KEYS = ["bucket", "model_id", "model_version_id", "endpoint_id"]
_NO_ENDPOINT = -1
_FREQ = {
    RollupGranularity.MINUTE: "min",
    RollupGranularity.HOUR: "h",
    RollupGranularity.DAY: "D",
}
_STEP = {
    RollupGranularity.MINUTE: timedelta(minutes=1),
    RollupGranularity.HOUR: timedelta(hours=1),
    RollupGranularity.DAY: timedelta(days=1),
}


def fault_point(name: str) -> None:
    """Die here, once, when the fault tests ask for it (KPIBOARD_FAULT_POINT=name and the
    file KPIBOARD_FAULT_ONCE_FILE exists; it is removed first so the restarted worker
    goes on). Does nothing otherwise."""
    if os.environ.get("KPIBOARD_FAULT_POINT") != name:
        return
    once = os.environ.get("KPIBOARD_FAULT_ONCE_FILE", "")
    if once and os.path.exists(once):
        os.remove(once)
        os.kill(os.getpid(), signal.SIGKILL)


def _enqueue() -> None:
    from ingestion.tasks import rollups_refresh_task

    try:
        rollups_refresh_task.apply_async(retry=False)
    except Exception:  # the broker is down: the marks stay, and the beat sweep catches up
        logger.warning("could not enqueue a rollup refresh; the periodic sweep will do it")


def rollups_schedule() -> None:
    """Ask for a refresh once the current transaction (holding the events) commits."""
    transaction.on_commit(_enqueue)


def _floor(moment: datetime, granularity: str) -> datetime:
    moment = moment.replace(second=0, microsecond=0)
    if granularity in (RollupGranularity.HOUR, RollupGranularity.DAY):
        moment = moment.replace(minute=0)
    if granularity == RollupGranularity.DAY:
        moment = moment.replace(hour=0)
    return moment


def _clusters(moments: list[datetime], step: timedelta) -> Iterable[tuple[datetime, datetime]]:
    """Half-open ranges covering sorted bucket starts, split where a gap exceeds a day so
    a late event does not make one query read weeks of events."""
    start = previous = moments[0]
    for moment in moments[1:]:
        if moment - previous > timedelta(days=1):
            yield start, previous + step
            start = moment
        previous = moment
    yield start, previous + step


def _chunks(items: list, size: int = _CHUNK) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _numeric_prediction(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return math.nan


def _raw_frame(pairs: dict[int, set[datetime]]) -> pd.DataFrame:
    """The events of the marked minutes, one row each, in rollup shape."""
    columns = [
        "model_id",
        "model_version_id",
        "endpoint_id",
        "caller",
        "timestamp",
        "status",
        "error_type",
        "latency_ms",
        "cost_usd",
        "prediction",
    ]
    parts = []
    for version_id, minutes in pairs.items():
        for start, end in _clusters(sorted(minutes), _STEP[RollupGranularity.MINUTE]):
            rows = ServingEvent.objects.filter(
                model_version_id=version_id, timestamp__gte=start, timestamp__lt=end
            ).values_list(*columns)
            part = pd.DataFrame.from_records(list(rows), columns=columns)
            if len(part):
                part["bucket"] = pd.to_datetime(part["timestamp"], utc=True).dt.floor("min")
                wanted = pd.to_datetime(sorted(minutes), utc=True)
                parts.append(part[part["bucket"].isin(wanted)])
    if not parts:
        return pd.DataFrame(columns=[*_KEYS, *_SUM_COLUMNS, "latency_ms"])
    raw = pd.concat(parts, ignore_index=True)
    raw["endpoint_id"] = raw["endpoint_id"].fillna(_NO_ENDPOINT).astype(np.int64)
    error = raw["status"] == "error"
    latency = pd.to_numeric(raw["latency_ms"], errors="coerce")
    latency_ok = (~error) & latency.notna()
    prediction = np.array([_numeric_prediction(p) for p in raw["prediction"]], dtype=float)
    has_prediction = ~np.isnan(prediction)
    frame = raw[_KEYS].copy()
    frame["inferences"] = 1
    frame["errors"] = error.astype(np.int64)
    for column, failure_class in ERROR_COLUMNS.items():
        frame[column] = (error & (raw["error_type"] == failure_class)).astype(np.int64)
    # An event stored without a cost (rows written straight to the table, e.g. by the demo
    # seeder) costs its model's unit cost, as the ingestion path would have set it.
    unit_costs = dict(
        RegisteredModel.objects.filter(pk__in=raw["model_id"].unique().tolist()).values_list(
            "pk", "unit_cost_usd"
        )
    )
    cost = raw["cost_usd"].astype(float)
    cost = cost.fillna(raw["model_id"].map(lambda pk: float(unit_costs.get(pk, 0))))
    # Costs have 8 decimals: summed as integers of 1e-8 USD they stay exact.
    frame["cost_e8"] = np.rint(cost * 1e8).astype(np.int64)
    frame["latency_count"] = latency_ok.astype(np.int64)
    frame["latency_sum_ms"] = latency.where(latency_ok, 0.0)
    frame["latency_ms"] = latency.where(latency_ok)
    frame["prediction_count"] = has_prediction.astype(np.int64)
    frame["prediction_sum"] = np.where(has_prediction, prediction, 0.0)
    frame["prediction_sum_squares"] = np.where(has_prediction, prediction**2, 0.0)
    frame["prediction_min"] = prediction
    frame["prediction_max"] = prediction
    return frame


def _summarize(frame: pd.DataFrame, granularity: str) -> list[ServingRollup]:
    if frame.empty:
        return []
    frame = frame.copy()
    frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True).dt.floor(_FREQ[granularity])
    aggregations = dict.fromkeys(_SUM_COLUMNS, "sum")
    aggregations.update(prediction_min="min", prediction_max="max")
    summed = frame.groupby(_KEYS, sort=False).agg(aggregations).reset_index()
    rollups = []
    for row in summed.to_dict("records"):
        rollups.append(
            ServingRollup(
                granularity=granularity,
                bucket_start=row["bucket"].to_pydatetime(),
                model_id=int(row["model_id"]),
                model_version_id=int(row["model_version_id"]),
                endpoint_id=None if row["endpoint_id"] == _NO_ENDPOINT else int(row["endpoint_id"]),
                caller=row["caller"],
                inferences=int(row["inferences"]),
                errors=int(row["errors"]),
                **{column: int(row[column]) for column in ERROR_COLUMNS},
                cost_usd=f"{int(row['cost_e8']) / 1e8:.8f}",
                latency_count=int(row["latency_count"]),
                latency_sum_ms=float(row["latency_sum_ms"]),
                prediction_count=int(row["prediction_count"]),
                prediction_sum=float(row["prediction_sum"]),
                prediction_sum_squares=float(row["prediction_sum_squares"]),
                prediction_min=None if pd.isna(row["prediction_min"]) else row["prediction_min"],
                prediction_max=None if pd.isna(row["prediction_max"]) else row["prediction_max"],
            )
        )
    return rollups


def _latency_rollups_from_raw(frame: pd.DataFrame) -> list[LatencyRollup]:
    ok = frame[frame["latency_count"] == 1]
    if ok.empty:
        return []
    ok = ok[_LATENCY_KEYS].assign(index=latency_bucket_indexes(ok["latency_ms"].to_numpy()))
    counted = ok.groupby([*_LATENCY_KEYS, "index"], sort=True).size().reset_index(name="n")
    rollups = []
    for key, part in counted.groupby(_LATENCY_KEYS, sort=False):
        histogram = (part["index"].to_numpy(np.int16), part["n"].to_numpy(np.int64))
        rollups.append(_latency_rollup(RollupGranularity.MINUTE, key, histogram))
    return rollups


def _latency_rollup(granularity: str, key: tuple, histogram: tuple) -> LatencyRollup:
    bucket, model_id, version_id, endpoint_id = key
    return LatencyRollup(
        granularity=granularity,
        bucket_start=pd.Timestamp(bucket).to_pydatetime(),
        model_id=int(model_id),
        model_version_id=int(version_id),
        endpoint_id=None if endpoint_id == _NO_ENDPOINT else int(endpoint_id),
        histogram=histogram_encode(histogram),
    )


def _delete(granularity: str, pairs: dict[int, set[datetime]]) -> None:
    for version_id, buckets in pairs.items():
        for chunk in _chunks(sorted(buckets)):
            for model in (ServingRollup, LatencyRollup):
                model.objects.filter(
                    granularity=granularity, model_version_id=version_id, bucket_start__in=chunk
                ).delete()


def _rollup_frames(
    granularity: str, pairs: dict[int, set[datetime]], coarser: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of `granularity` inside the coarser buckets of `pairs`, in rollup shape."""
    step = _STEP[coarser]
    fields = [
        "bucket_start",
        "model_id",
        "model_version_id",
        "endpoint_id",
        "caller",
        *[c for c in _SUM_COLUMNS if c != "cost_e8"],
        "cost_usd",
        "prediction_min",
        "prediction_max",
    ]
    rows, latency_rows = [], []
    for version_id, buckets in pairs.items():
        for start, end in _clusters(sorted(buckets), step):
            base = {
                "granularity": granularity,
                "model_version_id": version_id,
                "bucket_start__gte": start,
                "bucket_start__lt": end,
            }
            rows += list(ServingRollup.objects.filter(**base).values_list(*fields))
            latency_rows += list(
                LatencyRollup.objects.filter(**base).values_list(
                    "bucket_start", "model_id", "model_version_id", "endpoint_id", "histogram"
                )
            )
    frame = pd.DataFrame.from_records(rows, columns=fields)
    frame = frame.rename(columns={"bucket_start": "bucket"})
    frame["endpoint_id"] = frame["endpoint_id"].fillna(_NO_ENDPOINT).astype(np.int64)
    frame["cost_e8"] = np.rint(frame["cost_usd"].astype(float) * 1e8).astype(np.int64)
    frame["prediction_min"] = frame["prediction_min"].astype(float)
    frame["prediction_max"] = frame["prediction_max"].astype(float)
    latency = pd.DataFrame.from_records(latency_rows, columns=[*_LATENCY_KEYS, "histogram"])
    latency["endpoint_id"] = latency["endpoint_id"].fillna(_NO_ENDPOINT).astype(np.int64)
    return frame, latency


def _latency_merge(latency: pd.DataFrame, granularity: str) -> list[LatencyRollup]:
    if latency.empty:
        return []
    latency = latency.copy()
    latency["bucket"] = pd.to_datetime(latency["bucket"], utc=True).dt.floor(_FREQ[granularity])
    rollups = []
    for key, part in latency.groupby(_LATENCY_KEYS, sort=False):
        histogram = histograms_merge(histogram_decode(b) for b in part["histogram"])
        rollups.append(_latency_rollup(granularity, key, histogram))
    return rollups


def _coarser(pairs: dict[int, set[datetime]], granularity: str) -> dict[int, set[datetime]]:
    return {v: {_floor(m, granularity) for m in ms} for v, ms in pairs.items()}


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
    # SQLite: settings open every transaction IMMEDIATE, so writers are already serial.


def rollups_refresh_batch(*, max_marks: int = 2000) -> int:
    """Recompute the buckets of up to `max_marks` marks in one transaction; returns how
    many marks it consumed (0 when there was nothing to do)."""
    with transaction.atomic():
        _lock()
        marks = list(
            RollupMark.objects.order_by("pk").values_list("pk", "model_version_id", "minute_start")[
                :max_marks
            ]
        )
        if not marks:
            return 0
        minutes: dict[int, set[datetime]] = defaultdict(set)
        for _, version_id, minute in marks:
            minutes[version_id].add(minute)
        frame = _raw_frame(minutes)
        fault_point("before_write")
        _delete(RollupGranularity.MINUTE, minutes)
        ServingRollup.objects.bulk_create(
            _summarize(frame, RollupGranularity.MINUTE), batch_size=1000
        )
        LatencyRollup.objects.bulk_create(_latency_rollups_from_raw(frame), batch_size=1000)
        finer = minutes
        for finer_granularity, granularity in (
            (RollupGranularity.MINUTE, RollupGranularity.HOUR),
            (RollupGranularity.HOUR, RollupGranularity.DAY),
        ):
            buckets = _coarser(finer, granularity)
            frame, latency = _rollup_frames(finer_granularity, buckets, granularity)
            _delete(granularity, buckets)
            ServingRollup.objects.bulk_create(_summarize(frame, granularity), batch_size=1000)
            LatencyRollup.objects.bulk_create(_latency_merge(latency, granularity), batch_size=1000)
            finer = buckets
        for chunk in _chunks([pk for pk, _, _ in marks]):
            RollupMark.objects.filter(pk__in=chunk).delete()
    return len(marks)


def rollups_refresh(*, max_marks: int = 2000) -> int:
    """Work through every mark, a batch per transaction; returns the marks consumed."""
    total = 0
    while True:
        done = rollups_refresh_batch(max_marks=max_marks)
        total += done
        if done < max_marks:
            return total
        fault_point("mid_batch")


def rollups_mark(*, start: datetime | None = None, end: datetime | None = None) -> int:
    """Mark every minute that holds events in [start, end) as stale; returns the count."""
    events = ServingEvent.objects.all()
    if start is not None:
        events = events.filter(timestamp__gte=start)
    if end is not None:
        events = events.filter(timestamp__lt=end)
    pairs = (
        events.order_by()
        .annotate(minute=TruncMinute("timestamp"))
        .values_list("model_version_id", "minute")
        .distinct()
        .order_by("model_version_id", "minute")
    )
    count = 0
    batch: list[RollupMark] = []
    for version_id, minute in pairs.iterator(chunk_size=10000):
        batch.append(RollupMark(model_version_id=version_id, minute_start=minute))
        if len(batch) >= 10000:
            RollupMark.objects.bulk_create(batch)
            count += len(batch)
            batch = []
    RollupMark.objects.bulk_create(batch)
    return count + len(batch)


def rollups_rebuild(*, start: datetime | None = None, end: datetime | None = None) -> int:
    """Drop the rollups of [start, end) (all when not given) and recompute them from the
    raw events; returns the number of minutes recomputed. Panels show partial numbers
    for that range while it runs."""
    with transaction.atomic():
        _lock()
        for model in (ServingRollup, LatencyRollup):
            rows = model.objects.all()
            if start is not None:
                rows = rows.filter(bucket_start__gte=_floor(start, RollupGranularity.DAY))
            if end is not None:
                rows = rows.filter(bucket_start__lt=end)
            rows.delete()
        marked = rollups_mark(
            start=_floor(start, RollupGranularity.DAY) if start else None,
            end=_floor(end, RollupGranularity.DAY) + timedelta(days=1) if end else None,
        )
    rollups_refresh(max_marks=getattr(settings, "KPIBOARD_ROLLUP_BATCH_MARKS", 2000))
    return marked
