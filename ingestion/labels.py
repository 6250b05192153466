"""Labels (ground truth) and lifecycle metrics in: validated whole, stored once.

A label belongs to a team and joins only that team's event of its id. Its team is the
team of the one stored event of its id that its pusher may label (of the `model` it
names, when it names one); with no such event yet, it waits in the named model's team,
else in the pushing token's team. An admin's label, a session's and an in-process one
(none of them have a team of their own) must name the model when no event of the id has
arrived, and any label must when events of several teams carry the id.
"""

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
    names_of,
    principal_may_push_for,
    principal_token_id,
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
    Role,
    ServingEvent,
    lifecycle_metric_key,
)
from lifecycle.catalog.roles import role_of

# A label is any JSON value; nested deeper than this it is surely not a label, and
# storing or comparing it would recurse that deep.
MAX_LABEL_DEPTH = 32
LABEL_FIELDS = frozenset({"event_id", "label", "timestamp", "model"})
METRIC_FIELDS = frozenset(
    {"metric_id", "model", "version", "phase", "name", "value", "timestamp", "dimensions"}
)


def _existing(model: type, fields: tuple[str, str], objects: list) -> set[tuple]:
    """The (id, scope) pairs of `objects` already stored; the id is the first field."""
    key_field, scope_field = fields
    keys = sorted({getattr(o, key_field) for o in objects})
    found: set[tuple] = set()
    for start in range(0, len(keys), 500):
        found.update(
            model.objects.filter(**{f"{key_field}__in": keys[start : start + 500]}).values_list(
                key_field, scope_field
            )
        )
    return found


def _store(model: type, fields: tuple[str, str], objects: list) -> IngestResult:
    """Store the objects whose (id, scope) is not stored yet (nor earlier in the batch)."""
    with transaction.atomic():
        seen = _existing(model, fields, objects)
        fresh = []
        for obj in objects:
            key = tuple(getattr(obj, f) for f in fields)
            if key not in seen:
                seen.add(key)
                fresh.append(obj)
        # ignore_conflicts: a concurrent push of the same key is a repeat, not an error.
        model.objects.bulk_create(fresh, batch_size=500, ignore_conflicts=True)
    return IngestResult(accepted=len(fresh), repeats=len(objects) - len(fresh))


def _own_team_id(principal: Any) -> int | None:
    """The team a label waits in when it names no model: a team token's own. Admins
    label for every team, so theirs says nothing about the label."""
    team = getattr(principal, "team", None)
    if team is None or role_of(principal) == Role.ADMIN:
        return None
    return team.pk


class _LabelTargets:
    """The stored events of one batch's ids, with their teams and models."""

    def __init__(self, rows: Sequence[Any], principal: Any) -> None:
        dicts = [r for r in rows if isinstance(r, dict)]
        ids = sorted(names_of(dicts, "event_id"))
        names = names_of(dicts, "model")
        self.named = {m.name: m for m in RegisteredModel.objects.filter(name__in=names)}
        self.events: dict[str, list[tuple[int, int]]] = {}
        for start in range(0, len(ids), 500):
            for event_id, team_id, model_id in ServingEvent.objects.filter(
                event_id__in=ids[start : start + 500]
            ).values_list("event_id", "team_id", "model_id"):
                self.events.setdefault(event_id, []).append((team_id, model_id))
        owners = RegisteredModel.objects.in_bulk(
            {m for pairs in self.events.values() for _, m in pairs}
        )
        self.allowed = {pk: principal_may_push_for(principal, m) for pk, m in owners.items()}
        self.own_team_id = _own_team_id(principal)

    def team_of(self, event_id: str, model: RegisteredModel | None) -> int | str:
        """The label's team, or why it has none."""
        teams = {
            team_id
            for team_id, model_id in self.events.get(event_id, ())
            if self.allowed[model_id] and (model is None or model_id == model.pk)
        }
        if len(teams) == 1:
            return teams.pop()
        if teams:
            return "events of several teams have this id: name the label's model"
        if model is not None:
            return model.team_id
        if self.own_team_id is not None:
            return self.own_team_id
        return "no event with this id has arrived: name the label's model, so it can wait"


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
    """Labels joined to their team's event by event_id; a label for an unknown event is
    kept and joins when the event arrives."""
    errors: list[ItemError] = []
    labels: list[Label] = []
    now = timezone.now()
    pushed_by_id = principal_token_id(principal)
    targets = _LabelTargets(rows, principal)
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            errors.append(ItemError(i, "", "each label must be a JSON object"))
            continue
        before = len(errors)
        for key in row.keys() - LABEL_FIELDS:
            errors.append(ItemError(i, str(key), "unknown field"))
        model = None
        model_name = row.get("model")
        if problem := string_problem(model_name, required=False):
            errors.append(ItemError(i, "model", problem))
        elif model_name and (model := targets.named.get(model_name)) is None:
            errors.append(ItemError(i, "model", f"no registered model named {model_name!r}"))
        elif model is not None and not principal_may_push_for(principal, model):
            errors.append(
                ItemError(
                    i,
                    "model",
                    f"this token's team may not label {model.name!r}'s events",
                    forbidden=True,
                )
            )
        event_id = row.get("event_id")
        team_id: int | str = ""
        if problem := string_problem(event_id, required=True):
            errors.append(ItemError(i, "event_id", problem))
        elif len(errors) == before:
            team_id = targets.team_of(event_id, model)
            if isinstance(team_id, str):
                errors.append(ItemError(i, "model", team_id))
        if problem := label_problem(row.get("label")):
            errors.append(ItemError(i, "label", problem))
        timestamp = timestamp_parse(row.get("timestamp"), now=now)
        if isinstance(timestamp, str):
            errors.append(ItemError(i, "timestamp", timestamp))
        if len(errors) == before:
            labels.append(
                Label(
                    event_id=event_id,
                    team_id=team_id,
                    label=row["label"],
                    timestamp=timestamp,
                    received_at=now,
                    pushed_by_id=pushed_by_id,
                )
            )
    if errors:
        raise BatchRejected(errors)
    return _store(Label, ("event_id", "team_id"), labels)


def metrics_ingest(*, rows: Sequence[Any], principal: Any, source: str) -> IngestResult:
    """Lifecycle metrics; a retried push (same metric_id, or same content) is a repeat."""
    errors: list[ItemError] = []
    metrics: list[LifecycleMetric] = []
    now = timezone.now()
    pushed_by_id = principal_token_id(principal)
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

        def bad(field: str, reason: str, i: int = i, *, forbidden: bool = False) -> None:
            errors.append(ItemError(i, field, reason, forbidden=forbidden))

        for key in row.keys() - METRIC_FIELDS:
            bad(str(key), "unknown field")
        model = None
        if problem := string_problem(row.get("model"), required=True):
            bad("model", problem)
        elif (model := models.get(row["model"])) is None:
            bad("model", f"no registered model named {row['model']!r}")
        elif not principal_may_push_for(principal, model):
            bad(
                "model",
                f"this token's team may not push metrics for {model.name!r}",
                forbidden=True,
            )
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
                pushed_by_id=pushed_by_id,
            )
        )
    if errors:
        raise BatchRejected(errors)
    return _store(LifecycleMetric, ("metric_id", "model_id"), metrics)
