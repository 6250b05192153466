"""Writing the simulated serving events, endpoint by endpoint.

The rows go in with one executemany of plain tuples per endpoint, inside the seed's
transaction: bulk_create would build a model instance per event and, on SQLite, split them
into statements of 76 rows (Django caps a statement at 999 parameters), which made the
insert most of the seed's time. The values are adapted as the ORM would store them, so
the ORM reads back exactly what it would have written.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import numpy as np
from django.db import connection

from demo.plan import CLASSES, EPOCH, US, Plan, us
from demo.rows import CatalogRows
from demo.specs import BATCH, ENDPOINTS, LABELLED
from demo.traffic import Traffic, traffic_simulate
from lifecycle.catalog.models import EventStatus, ServingEvent

_FIELDS = (
    "event_id",
    "timestamp",
    "received_at",
    "model",
    "team",
    "model_version",
    "endpoint",
    "status",
    "error_type",
    "latency_ms",
    "caller",
    "features",
    "prediction",
    "cost_usd",
)


@dataclass(frozen=True)
class ScoredEvents:
    """One model's events, for the labels that arrive for some of them later."""

    event_ids: list[str]
    ts: np.ndarray  # microseconds since the epoch
    prediction: list
    origin: np.ndarray  # for a shadow's copy, the index here of the request it mirrors


@dataclass
class EventsWritten:
    total: int = 0
    errors: int = 0
    scored: dict[str, ScoredEvents] = field(default_factory=dict)


def _insert_sql() -> str:
    meta = ServingEvent._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in _FIELDS)
    marks = ", ".join(["%s"] * len(_FIELDS))
    return f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({marks})"


def _db_times(micros: np.ndarray) -> list:
    """Aware UTC instants as the database backend stores them."""
    if connection.vendor == "sqlite":
        # Django's SQLite backend stores str() of the naive UTC datetime (no fraction when
        # it is zero); numpy formats half a million of them in a blink.
        text = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us").tolist()
        return [t.replace("T", " ").removesuffix(".000000") for t in text]
    adapt = connection.ops.adapt_datetimefield_value
    return [adapt(EPOCH + timedelta(microseconds=int(m))) for m in micros]


def _db_json(values: list | None, n: int) -> list:
    if values is None:
        return [None] * n
    adapt = connection.ops.adapt_json_value
    return [None if v is None else adapt(v, None) for v in values]


def _scored(traffic: Traffic, plan: Plan, ids: list[str]) -> dict[str, ScoredEvents]:
    names = np.array([plan.deployments[i].version.model.name for i in traffic.dep], dtype=object)
    scored = {}
    for name in LABELLED:
        idx = np.flatnonzero(names == name)
        if not len(idx) or traffic.prediction is None:
            continue
        here = np.full(len(traffic.ts), -1, dtype=np.int64)
        here[idx] = np.arange(len(idx))
        origin = traffic.origin[idx]
        scored[name] = ScoredEvents(
            event_ids=[ids[i] for i in idx],
            ts=traffic.ts[idx],
            prediction=[traffic.prediction[i] for i in idx],
            origin=np.where(origin >= 0, here[origin.clip(min=0)], -1),
        )
    return scored


def events_write(
    plan: Plan, rows: CatalogRows, *, volume: float, progress: Callable[[str], None]
) -> EventsWritten:
    written = EventsWritten()
    ids = np.random.default_rng([plan.seed, 0])
    now = us(plan.now)
    sql = _insert_sql()
    adapt_decimal = connection.ops.adapt_decimalfield_value
    for spec in ENDPOINTS:
        traffic = traffic_simulate(spec, plan, volume=volume)
        n = len(traffic.ts)
        rng = np.random.default_rng([plan.seed, zlib.crc32(spec.name.encode()), 1])
        # Batch results reach kpiboard as files after the job; streaming logs in seconds.
        delay = rng.uniform(300, 1200, n) if spec.mode == BATCH else rng.lognormal(0, 0.8, n)
        received = np.minimum(traffic.ts + (delay * US).astype(np.int64), now)
        raw = ids.bytes(16 * n)
        event_ids = [str(uuid.UUID(bytes=raw[16 * k : 16 * k + 16], version=4)) for k in range(n)]
        deployments = rows.deployments
        version_of = np.array([d.model_version_id for d in deployments])[traffic.dep].tolist()
        model_of = np.array([d.model_version.model_id for d in deployments])[traffic.dep].tolist()
        team_of = np.array([d.model_version.model.team_id for d in deployments])[traffic.dep]
        codes = traffic.error.tolist()
        latency = [None if v != v else v for v in traffic.latency.tolist()]  # nan: no answer
        cost = [
            None if v != v else adapt_decimal(Decimal(f"{v:.8f}"), 14, 8)
            for v in traffic.cost.tolist()
        ]
        values = zip(
            event_ids,
            _db_times(traffic.ts // 1000 * 1000),  # event times in milliseconds
            _db_times(received),
            model_of,
            team_of.tolist(),
            version_of,
            [rows.endpoints[spec.name].pk] * n,
            [EventStatus.ERROR.value if c else EventStatus.OK.value for c in codes],
            [CLASSES[c - 1] if c else "" for c in codes],
            latency,
            traffic.caller.tolist(),
            _db_json(traffic.features, n),
            _db_json(traffic.prediction, n),
            cost,
            strict=True,
        )
        with connection.cursor() as cursor:
            cursor.executemany(sql, list(values))
        written.total += n
        written.errors += int((traffic.error > 0).sum())
        written.scored.update(_scored(traffic, plan, event_ids))
        progress(f"events: {spec.name}: {n:,} (total {written.total:,})")
    return written
