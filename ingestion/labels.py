"""Labels (ground truth) and lifecycle metrics in: validated whole, stored once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from ingestion.validation import (
    BatchRejected,
    IngestResult,
    ItemError,
    flat_object_problem,
    is_finite_number,
    principal_may_push_for,
    string_problem,
    timestamp_parse,
)
from lifecycle.catalog.jsonbody import json_problems
from lifecycle.catalog.models import (
    Label,
    LifecycleMetric,
    LifecyclePhase,
    ModelVersion,
    RegisteredModel,
    ServingEvent,
    lifecycle_metric_key,
)

# A label is any JSON value; nested deeper than this it is surely not a label, and
# storing or comparing it would recurse that deep.
MAX_LABEL_DEPTH = 32
LABEL_FIELDS = frozenset({"event_id", "label", "timestamp"})
METRIC_FIELDS = frozenset(
    {"metric_id", "model", "version", "phase", "name", "value", "timestamp", "dimensions"}
)


def _existing(model: type, field: str, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        found.update(
            model.objects.filter(**{f"{field}__in": keys[start : start + 500]}).values_list(
                field, flat=True
            )
        )
    return found


def _store(model: type, key_field: str, objects: list) -> IngestResult:
    """Store the objects whose key is not stored yet (nor earlier in the batch)."""
    with transaction.atomic():
        seen = _existing(model, key_field, [getattr(o, key_field) for o in objects])
        fresh = []
        for obj in objects:
            key = getattr(obj, key_field)
            if key not in seen:
                seen.add(key)
                fresh.append(obj)
        # ignore_conflicts: a concurrent push of the same key is a repeat, not an error.
        model.objects.bulk_create(fresh, batch_size=500, ignore_conflicts=True)
    return IngestResult(accepted=len(fresh), repeats=len(objects) - len(fresh))


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_LABEL_DEPTH:
            break
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return deepest


def label_problem(value: Any) -> str | None:
    """Why a label value cannot be stored and compared, or None."""
    if value is None:
        return "is required"
    if _depth(value) > MAX_LABEL_DEPTH:
        return f"nested more than {MAX_LABEL_DEPTH} levels deep"
    if problems := json_problems(value, limit=1):
        where = problems[0].field
        return f"{where}: {problems[0].reason}" if where else problems[0].reason
    return None


def labels_ingest(*, rows: Sequence[Any], principal: Any, source: str) -> IngestResult:
    """Labels joined to events by event_id; a label for an unknown event is kept."""
    errors: list[ItemError] = []
    labels: list[Label] = []
    now = timezone.now()
    ids = [r.get("event_id") for r in rows if isinstance(r, dict)]
    owners = dict(
        ServingEvent.objects.filter(event_id__in=[i for i in ids if isinstance(i, str)])
        .select_related(None)
        .values_list("event_id", "model_id")
    )
    models = RegisteredModel.objects.in_bulk(set(owners.values()))
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            errors.append(ItemError(i, "", "each label must be a JSON object"))
            continue
        before = len(errors)
        for key in row.keys() - LABEL_FIELDS:
            errors.append(ItemError(i, str(key), "unknown field"))
        event_id = row.get("event_id")
        if problem := string_problem(event_id, required=True):
            errors.append(ItemError(i, "event_id", problem))
        elif event_id in owners and not principal_may_push_for(principal, models[owners[event_id]]):
            errors.append(
                ItemError(i, "event_id", "this token's team may not label that model's events")
            )
        if problem := label_problem(row.get("label")):
            errors.append(ItemError(i, "label", problem))
        timestamp = timestamp_parse(row.get("timestamp"), now=now)
        if isinstance(timestamp, str):
            errors.append(ItemError(i, "timestamp", timestamp))
        if len(errors) == before:
            labels.append(
                Label(
                    event_id=event_id,
                    label=row["label"],
                    timestamp=timestamp,
                    received_at=now,
                )
            )
    if errors:
        raise BatchRejected(errors, forbidden=all("may not" in e.reason for e in errors))
    return _store(Label, "event_id", labels)


def metrics_ingest(*, rows: Sequence[Any], principal: Any, source: str) -> IngestResult:
    """Lifecycle metrics; a retried push (same metric_id, or same content) is a repeat."""
    errors: list[ItemError] = []
    metrics: list[LifecycleMetric] = []
    now = timezone.now()
    names = {
        r.get("model") for r in rows if isinstance(r, dict) and isinstance(r.get("model"), str)
    }
    models = {m.name: m for m in RegisteredModel.objects.filter(name__in=names)}
    versions = {
        (model_id, version): pk
        for model_id, version, pk in ModelVersion.objects.filter(
            model__in=models.values()
        ).values_list("model_id", "version", "pk")
    }
    phases = set(LifecyclePhase.values)
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            errors.append(ItemError(i, "", "each metric must be a JSON object"))
            continue
        before = len(errors)

        def bad(field: str, reason: str, i: int = i) -> None:
            errors.append(ItemError(i, field, reason))

        for key in row.keys() - METRIC_FIELDS:
            bad(str(key), "unknown field")
        model = None
        if problem := string_problem(row.get("model"), required=True):
            bad("model", problem)
        elif (model := models.get(row["model"])) is None:
            bad("model", f"no registered model named {row['model']!r}")
        elif not principal_may_push_for(principal, model):
            bad("model", f"this token's team may not push metrics for {model.name!r}")
        version_id = None
        version = row.get("version")
        if problem := string_problem(version, required=False):
            bad("version", problem)
        elif version and model is not None:
            version_id = versions.get((model.pk, version))
            if version_id is None:
                bad("version", f"model {model.name!r} has no version {version!r}")
        if not isinstance(row.get("phase"), str) or row["phase"] not in phases:
            bad("phase", f"must be one of {', '.join(LifecyclePhase.values)}")
        if problem := string_problem(row.get("name"), required=True):
            bad("name", problem)
        value = row.get("value")
        if not is_finite_number(value):
            bad("value", "must be a finite number")
        timestamp = timestamp_parse(row.get("timestamp"), now=now)
        if isinstance(timestamp, str):
            bad("timestamp", timestamp)
        dimensions = row.get("dimensions")
        if dimensions is None:
            dimensions = {}
        elif problem := flat_object_problem(dimensions):
            bad("dimensions", problem)
        metric_id = row.get("metric_id")
        if problem := string_problem(metric_id, required=False):
            bad("metric_id", problem)
        if len(errors) > before:
            continue
        metrics.append(
            LifecycleMetric(
                metric_id=metric_id
                or lifecycle_metric_key(
                    model=model.name,
                    version=version,
                    phase=row["phase"],
                    name=row["name"],
                    timestamp=timestamp,
                    dimensions=dimensions,
                ),
                model=model,
                model_version_id=version_id,
                phase=row["phase"],
                name=row["name"],
                value=float(value),
                timestamp=timestamp,
                dimensions=dimensions,
                received_at=now,
            )
        )
    if errors:
        raise BatchRejected(errors, forbidden=all("may not" in e.reason for e in errors))
    return _store(LifecycleMetric, "metric_id", metrics)
