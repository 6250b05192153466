"""Serving events in: validate a batch against SPEC.md's field table, then store it once.

Every source (REST push, log files, KServe) ends in `events_store`, so the same
guarantees hold for all of them: an `event_id` is stored once, a batch is stored whole or
not at all, and rollup marks are written in the same transaction as the events.

An event_id is unique within the team that owned the model when the event came in
(two teams may use the same id), and an id the same model already has is a repeat too,
so a retry after the model moved to another team still counts once.

On PostgreSQL the rows go through COPY into a temporary staging table and one
`INSERT ... ON CONFLICT (event_id, team_id) DO NOTHING`; elsewhere (SQLite, the embedded
default) through the ORM.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ingestion.models import RollupMark
from ingestion.scheduling import rollups_schedule
from ingestion.unseen import (
    UnseenNames,
    unknown_endpoint_problem,
    unknown_version_problem,
    unseen_register,
)
from ingestion.validation import (
    FLOAT_MAX,
    MAX_COST_USD,
    MAX_NAME_LENGTH,
    NOT_TEXT,
    BatchRejected,
    IngestResult,
    ItemError,
    cost_problem,
    flat_object_problem,
    is_finite_number,
    names_of,
    principal_may_push_for,
    principal_token_id,
    string_problem,
    text_problem,
    timestamp_parse,
)
from lifecycle.catalog.models import (
    Endpoint,
    FailureClass,
    ModelVersion,
    RegisteredModel,
    ServingEvent,
)
from lifecycle.catalog.ownership import principal_may_use_endpoint
from lifecycle.catalog.times import EARLIEST, time_latest

EVENT_FIELDS = frozenset(
    {
        "event_id",
        "timestamp",
        "model",
        "version",
        "endpoint",
        "latency_ms",
        "status",
        "error_type",
        "caller",
        "features",
        "prediction",
        "cost_usd",
    }
)
_ERROR_TYPES = frozenset(FailureClass.values)


@dataclass(slots=True)
class PreparedEvent:
    event_id: str
    timestamp: datetime
    model_id: int
    team_id: int  # the model's team at intake: the namespace of event_id
    # None until `unseen_register` gives it the id of a version the catalog lacked.
    model_version_id: int | None
    endpoint_id: int | None
    status: str
    error_type: str
    latency_ms: float | None
    caller: str
    features: dict | None
    prediction: Any
    cost_usd: Decimal | float


@dataclass
class ValidatedBatch:
    events: list[PreparedEvent]
    # Index in the input of each prepared event, for callers that skip bad items.
    indexes: list[int]
    errors: list[ItemError]
    # Versions and endpoints the events name that the catalog lacks, registered when
    # the batch is stored (ingestion/unseen.py).
    unseen: UnseenNames


def _features_problem(features: Any) -> str | None:
    return None if features is None else flat_object_problem(features)


class _Catalog:
    """Names of one batch resolved with three queries, whatever the batch size."""

    def __init__(self, rows: Sequence[Any], principal: Any) -> None:
        dicts = [r for r in rows if isinstance(r, dict)]
        model_names = names_of(dicts, "model")
        self.models = {m.name: m for m in RegisteredModel.objects.filter(name__in=model_names)}
        versions = ModelVersion.objects.filter(model__in=self.models.values()).values_list(
            "model_id", "version", "pk"
        )
        self.versions = {(model_id, name): pk for model_id, name, pk in versions}
        endpoint_names = names_of(dicts, "endpoint")
        named = list(Endpoint.objects.filter(name__in=endpoint_names).select_related("team"))
        # Another team's endpoint is not this token's to report traffic on (a shared one,
        # of no team, is everybody's); the fast path never sees those, the full check
        # refuses them.
        self.foreign_endpoints = {
            e.name: e.team.name
            for e in named
            if not principal_may_use_endpoint(principal=principal, endpoint=e)
        }
        self.endpoints = {e.name: e.pk for e in named if e.name not in self.foreign_endpoints}


def _plain_text(value: str) -> bool:
    """No NUL and no lone surrogate; isascii() is a flag lookup, so ASCII (nearly every
    id and caller) skips the search."""
    if value.isascii():
        return "\x00" not in value
    return NOT_TEXT.search(value) is None


_STATUS_OK = "ok"
_FLOAT_OR_INT = (float, int)


def _fast_event(
    row: Any, targets: dict, endpoints: dict[str, int], latest: datetime
) -> PreparedEvent | None:
    """The event when `row` is plainly valid, else None (then the full check runs and
    says what is wrong). Most rows are valid, and this path is several times faster."""
    if type(row) is not dict or not row.keys() <= EVENT_FIELDS:
        return None
    get = row.get
    event_id, stamp, caller = get("event_id"), get("timestamp"), get("caller")
    if (
        type(event_id) is not str
        or not 0 < len(event_id) <= MAX_NAME_LENGTH
        or not _plain_text(event_id)
        or type(stamp) is not str
        or get("features") is not None
        or (
            caller is not None
            and (
                type(caller) is not str or len(caller) > MAX_NAME_LENGTH or not _plain_text(caller)
            )
        )
    ):
        return None
    model_name, version_name = get("model"), get("version")
    # A list or object here would be unhashable: the full check names the field.
    if type(model_name) is not str or type(version_name) is not str:
        return None
    target = targets.get((model_name, version_name))
    if target is None:
        return None
    model_id, team_id, version_id, unit_cost, allowed = target
    if not allowed:
        return None
    status, latency = get("status"), get("latency_ms")
    if status == _STATUS_OK:
        # <= FLOAT_MAX, not < inf: an integer beyond a float compares below inf.
        if get("error_type") or type(latency) not in _FLOAT_OR_INT or not 0 <= latency <= FLOAT_MAX:
            return None
        error_type = ""
    else:
        return None  # errors are rare: the full check handles them
    endpoint_name = get("endpoint")
    endpoint_id = None
    if endpoint_name is not None:
        endpoint_id = endpoints.get(endpoint_name) if type(endpoint_name) is str else None
        if endpoint_id is None:
            return None
    prediction, cost = get("prediction"), get("cost_usd")
    if prediction is not None and not (
        (type(prediction) is str and _plain_text(prediction))
        or (type(prediction) in _FLOAT_OR_INT and -FLOAT_MAX <= prediction <= FLOAT_MAX)
    ):
        return None
    if cost is not None and (type(cost) not in _FLOAT_OR_INT or not 0 <= cost < MAX_COST_USD):
        return None
    try:
        timestamp = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    offset = timestamp.utcoffset()
    if offset is None:
        return None
    if offset:
        try:
            timestamp = timestamp.astimezone(UTC)
        except OverflowError:
            return None
    if not EARLIEST <= timestamp <= latest:
        return None
    return PreparedEvent(
        event_id,
        timestamp,
        model_id,
        team_id,
        version_id,
        endpoint_id,
        status,
        error_type,
        float(latency),
        caller or "",
        None,
        prediction,
        cost if cost is not None else unit_cost,
    )


def events_validate(*, rows: Sequence[Any], principal: Any) -> ValidatedBatch:
    """Check every item; collect each bad item's index, field and reason."""
    catalog = _Catalog(rows, principal)
    now = timezone.now()
    latest = time_latest(now=now)
    allowed: dict[int, bool] = {}
    events: list[PreparedEvent] = []
    indexes: list[int] = []
    errors: list[ItemError] = []
    unseen = UnseenNames(principal=principal)
    targets = {
        (model.name, version): (
            model.pk,
            model.team_id,
            version_id,
            model.unit_cost_usd,
            principal_may_push_for(principal, model),
        )
        for model in catalog.models.values()
        for (model_id, version), version_id in catalog.versions.items()
        if model_id == model.pk
    }

    for i, row in enumerate(rows):
        fast = _fast_event(row, targets, catalog.endpoints, latest)
        if fast is not None:
            events.append(fast)
            indexes.append(i)
            continue
        if not isinstance(row, dict):
            errors.append(ItemError(i, "", "each event must be a JSON object"))
            continue
        before = len(errors)

        def bad(field: str, reason: str, i: int = i, *, forbidden: bool = False) -> None:
            errors.append(ItemError(i, field, reason, forbidden=forbidden))

        for key in row.keys() - EVENT_FIELDS:
            bad(str(key), "unknown field")

        event_id = row.get("event_id")
        if problem := string_problem(event_id, required=True):
            bad("event_id", problem)

        timestamp = timestamp_parse(row.get("timestamp"), now=now)
        if isinstance(timestamp, str):
            bad("timestamp", "is required" if row.get("timestamp") is None else timestamp)

        model = None
        model_name = row.get("model")
        if problem := string_problem(model_name, required=True):
            bad("model", problem)
        else:
            model = catalog.models.get(model_name)
            if model is None:
                bad("model", f"no registered model named {model_name!r}")

        version_id = None
        version_name = row.get("version")
        if problem := string_problem(version_name, required=True):
            bad("version", problem)
        elif model is not None:
            version_id = catalog.versions.get((model.pk, version_name))
            if version_id is None and (
                problem := unknown_version_problem(model=model, name=version_name)
            ):
                bad("version", problem)

        endpoint_id = None
        endpoint_name = row.get("endpoint")
        if problem := string_problem(endpoint_name, required=False):
            bad("endpoint", problem)
        elif endpoint_name in catalog.foreign_endpoints:
            bad(
                "endpoint",
                f"this token's team may not push events for endpoint {endpoint_name!r} of "
                f"team {catalog.foreign_endpoints[endpoint_name]!r}",
                forbidden=True,
            )
        elif endpoint_name:
            endpoint_id = catalog.endpoints.get(endpoint_name)
            if endpoint_id is None and (problem := unknown_endpoint_problem(name=endpoint_name)):
                bad("endpoint", problem)

        status = row.get("status")
        error_type = row.get("error_type") or ""
        if status not in ("ok", "error"):
            bad("status", "is required" if status is None else "must be 'ok' or 'error'")
        elif status == "error":
            if not error_type:
                bad("error_type", "is required when status is error")
            elif not isinstance(error_type, str) or error_type not in _ERROR_TYPES:
                bad("error_type", f"must be one of {', '.join(sorted(_ERROR_TYPES))}")
        elif error_type:
            bad("error_type", "only events with status error have an error_type")

        latency = row.get("latency_ms")
        if latency is None:
            if status == "ok":
                bad("latency_ms", "is required when status is ok")
        elif not is_finite_number(latency) or latency < 0:
            bad("latency_ms", "must be a number >= 0")

        caller = row.get("caller")
        if problem := string_problem(caller, required=False):
            bad("caller", problem)

        features = row.get("features")
        if problem := _features_problem(features):
            bad("features", problem)

        prediction = row.get("prediction")
        if prediction is not None and not (
            isinstance(prediction, str) or is_finite_number(prediction)
        ):
            bad("prediction", "must be a finite number or a string")
        elif isinstance(prediction, str) and (problem := text_problem(prediction)):
            bad("prediction", problem)

        cost = row.get("cost_usd")
        if cost is not None and (problem := cost_problem(cost)):
            bad("cost_usd", problem)

        if model is not None:
            if model.pk not in allowed:
                allowed[model.pk] = principal_may_push_for(principal, model)
            if not allowed[model.pk]:
                bad(
                    "model",
                    f"this token's team may not push events for {model.name!r}",
                    forbidden=True,
                )

        if len(errors) > before:
            continue
        prepared = PreparedEvent(
            event_id=event_id,
            timestamp=timestamp,
            model_id=model.pk,
            team_id=model.team_id,
            model_version_id=version_id,
            endpoint_id=endpoint_id,
            status=status,
            error_type=error_type if status == "error" else "",
            latency_ms=float(latency) if latency is not None else None,
            caller=caller or "",
            features=features,
            prediction=prediction,
            cost_usd=cost if cost is not None else model.unit_cost_usd,
        )
        if version_id is None:
            unseen.version_wait(prepared, name=version_name)
        if endpoint_name and endpoint_id is None:
            unseen.endpoint_wait(prepared, name=endpoint_name)
        events.append(prepared)
        indexes.append(i)
    return ValidatedBatch(events, indexes, errors, unseen)


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")


def _copy_text(value: str) -> str:
    """Escape a value for COPY's text format."""
    if _COPY_SPECIAL.search(value) is None:
        return value
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _json_or_null(value: Any) -> str:
    if value is None:
        return "\\N"
    if type(value) is float or type(value) is int:
        return repr(value)  # a JSON number as it stands, without the encoder's detour
    return _copy_text(json.dumps(value, separators=(",", ":")))


_STAGING_DDL = """
CREATE TEMP TABLE IF NOT EXISTS ingest_event_staging (
    event_id varchar(200), "timestamp" timestamptz, received_at timestamptz,
    model_id bigint, team_id bigint, model_version_id bigint, endpoint_id bigint,
    status varchar(8), error_type varchar(16), latency_ms double precision,
    caller varchar(200), features jsonb, prediction jsonb, cost_usd numeric(14, 8),
    pushed_by_id bigint
) ON COMMIT DELETE ROWS
"""
_COLUMNS = (
    'event_id, "timestamp", received_at, model_id, team_id, model_version_id, endpoint_id, '
    "status, error_type, latency_ms, caller, features, prediction, cost_usd, pushed_by_id"
)
_INSERT_FROM_STAGING = f"""
WITH inserted AS (
    INSERT INTO catalog_servingevent ({_COLUMNS})
    SELECT {_COLUMNS} FROM ingest_event_staging AS staged
    -- Stored by the same model under the team it had before it moved: a repeat. The
    -- unique index (event_id, team_id) finds the id's few rows.
    WHERE NOT EXISTS (
        SELECT 1 FROM catalog_servingevent AS stored
        WHERE stored.event_id = staged.event_id AND stored.model_id = staged.model_id
    )
    ON CONFLICT (event_id, team_id) DO NOTHING
    RETURNING model_version_id, "timestamp"
), marks AS (
    INSERT INTO ingestion_rollupmark (model_version_id, hour_start)
    SELECT DISTINCT model_version_id, date_trunc('hour', "timestamp") FROM inserted
    RETURNING 1
)
SELECT count(*) FROM inserted
"""


def events_copy_text(
    events: list[PreparedEvent], received_at: datetime, *, pushed_by_id: int | None = None
) -> str:
    """The events in COPY's text format, for `events_store` on PostgreSQL. Made apart
    so a reader can render the next chunk while the database writes this one."""
    received = received_at.isoformat()
    pushed_by = "\\N" if pushed_by_id is None else str(pushed_by_id)
    lines = []
    append = lines.append
    for e in events:
        append(
            "\t".join(
                (
                    _copy_text(e.event_id),
                    e.timestamp.isoformat(),
                    received,
                    str(e.model_id),
                    str(e.team_id),
                    str(e.model_version_id),
                    "\\N" if e.endpoint_id is None else str(e.endpoint_id),
                    e.status,
                    e.error_type,
                    "\\N" if e.latency_ms is None else repr(e.latency_ms),
                    _copy_text(e.caller),
                    _json_or_null(e.features),
                    _json_or_null(e.prediction),
                    str(e.cost_usd),
                    pushed_by,
                )
            )
        )
    append("")
    return "\n".join(lines)


def _store_postgresql(copy_text: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(_STAGING_DDL)
        cursor.cursor.copy_expert(
            f"COPY ingest_event_staging ({_COLUMNS}) FROM STDIN", io.StringIO(copy_text)
        )
        cursor.execute(_INSERT_FROM_STAGING)
        accepted = cursor.fetchone()[0]
        # ON COMMIT DELETE ROWS only empties the table at commit; a caller storing several
        # batches in one transaction (the file reader) must not see the last one again.
        cursor.execute("TRUNCATE ingest_event_staging")
    return accepted


def events_stored(*, event_ids: Sequence[str], team_id: int, model_id: int) -> set[str]:
    """The ids among `event_ids` that an event of this team and model would repeat: ids
    the team stored, or the model stored under the team it had before it moved."""
    return set(
        ServingEvent.objects.filter(event_id__in=list(event_ids))
        .filter(Q(team_id=team_id) | Q(model_id=model_id))
        .values_list("event_id", flat=True)
    )


def _store_orm(events: list[PreparedEvent], received_at: datetime, pushed_by_id: int | None) -> int:
    ids = sorted({e.event_id for e in events})
    # ("team", id, team) and ("model", id, model): either makes an event a repeat.
    existing: set[tuple[str, str, int]] = set()
    for start in range(0, len(ids), 500):
        for event_id, team_id, model_id in ServingEvent.objects.filter(
            event_id__in=ids[start : start + 500]
        ).values_list("event_id", "team_id", "model_id"):
            existing.update((("team", event_id, team_id), ("model", event_id, model_id)))
    fresh = []
    for e in events:
        keys = (("team", e.event_id, e.team_id), ("model", e.event_id, e.model_id))
        if not existing.isdisjoint(keys):
            continue
        existing.update(keys)  # a repeat inside the batch counts once, too
        fresh.append(
            ServingEvent(
                event_id=e.event_id,
                timestamp=e.timestamp,
                received_at=received_at,
                model_id=e.model_id,
                team_id=e.team_id,
                model_version_id=e.model_version_id,
                endpoint_id=e.endpoint_id,
                status=e.status,
                error_type=e.error_type,
                latency_ms=e.latency_ms,
                caller=e.caller,
                features=e.features,
                prediction=e.prediction,
                cost_usd=Decimal(str(e.cost_usd)),
                pushed_by_id=pushed_by_id,
            )
        )
    ServingEvent.objects.bulk_create(fresh, batch_size=500)
    hours = {
        (e.model_version_id, e.timestamp.replace(minute=0, second=0, microsecond=0)) for e in fresh
    }
    RollupMark.objects.bulk_create(
        [RollupMark(model_version_id=v, hour_start=h) for v, h in sorted(hours)],
        batch_size=500,
    )
    return len(fresh)


def events_store(
    *,
    events: list[PreparedEvent],
    received_at: datetime | None = None,
    copy_text: str | None = None,
    pushed_by_id: int | None = None,
    unseen: UnseenNames | None = None,
) -> int:
    """Store prepared events in the current transaction; returns how many were new.

    The caller owns the transaction (the file reader commits its offset in the same one)
    and schedules the rollups with `rollups_schedule` once it commits. `copy_text` is
    `events_copy_text` of the same events (and `pushed_by_id`), when the caller rendered
    it already. `pushed_by_id` is the pushing API token's, recorded on every new event.
    `unseen` is the batch's versions and endpoints to register first (its
    `ValidatedBatch.unseen`).
    """
    if not events:
        return 0
    if unseen:
        unseen_register(unseen=unseen)
        copy_text = None  # any text rendered before lacks the ids just given
    received_at = received_at or timezone.now()
    if connection.vendor == "postgresql":
        return _store_postgresql(
            copy_text or events_copy_text(events, received_at, pushed_by_id=pushed_by_id)
        )
    return _store_orm(events, received_at, pushed_by_id)


def events_ingest(*, rows: Sequence[Any], principal: Any, source: str) -> IngestResult:
    """Validate and store one batch, all or nothing; raise BatchRejected on any bad item.

    `principal` is the token or user pushing (None for trusted in-process sources);
    `source` names the path in and is only logged.
    """
    batch = events_validate(rows=rows, principal=principal)
    if batch.errors:
        raise BatchRejected(batch.errors)
    with transaction.atomic():
        accepted = events_store(
            events=batch.events, pushed_by_id=principal_token_id(principal), unseen=batch.unseen
        )
        if accepted:
            rollups_schedule()
    return IngestResult(accepted=accepted, repeats=len(batch.events) - accepted)
