"""Registry events pushed by registries kpiboard does not poll (SageMaker, Vertex, W&B, a
CI pipeline): a version registered, promoted, deployed, rolled back or archived.

A batch is validated whole before anything is written: one bad item rejects it with the
index, field and reason of every problem. An `event_id` seen before is a repeat and
changes nothing, so a pipeline may retry freely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from ingestion.registry.ledger import (
    catalog_version_ensure,
    change_record,
    deployment_start,
    deployment_stop,
    traffic_share_for,
)
from ingestion.validation import (
    BatchRejected,
    ItemError,
    names_of,
    principal_may_push_for,
    principal_token_id,
    text_problem,
)
from lifecycle.catalog.models import (
    DeploymentRole,
    Endpoint,
    ModelVersion,
    RegisteredModel,
)
from lifecycle.catalog.ownership import principal_may_use_endpoint
from lifecycle.catalog.times import time_parse
from lifecycle.deployment.models import ChangeKind, ChangeSource, LifecycleChange

MAX_EVENTS = 1000
EVENT_KINDS = ("registered", "promoted", "deployed", "rolled_back", "archived")
OUTCOMES = ("succeeded", "failed")
_KNOWN_FIELDS = {
    "event_id",
    "event",
    "timestamp",
    "model",
    "version",
    "registry",
    "endpoint",
    "role",
    "traffic_share",
    "alias",
    "outcome",
    "reason",
    "run_id",
    "run_ended_at",
    "description",
}


@dataclass
class RegistryEvent:
    index: int
    event_id: str
    kind: str
    timestamp: datetime
    model: RegisteredModel
    version: str
    registry: str = ""
    endpoint: Endpoint | None = None
    role: str = DeploymentRole.PRODUCTION
    traffic_share: Decimal | None = None
    alias: str = "champion"
    outcome: str = "succeeded"
    reason: str = ""
    run_id: str = ""
    run_ended_at: datetime | None = None
    description: str = ""


@dataclass
class EventsResult:
    accepted: int = 0
    repeats: int = 0
    changes: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {"accepted": self.accepted, "repeats": self.repeats}


def _text(item: dict[str, Any], name: str, *, required: bool, limit: int = 200) -> str | None:
    value = item.get(name)
    if value is None or value == "":
        return None if required else ""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if len(value) > limit:
        raise ValueError(f"longer than {limit} characters")
    if problem := text_problem(value):
        raise ValueError(problem)
    return value.strip()


def events_rows(payload: Any) -> list[Any]:
    """One event, a list of them, or {"events": [...]}."""
    if isinstance(payload, dict) and "events" in payload:
        payload = payload["events"]
    elif isinstance(payload, dict):
        payload = [payload]
    if not isinstance(payload, list):
        raise BatchRejected([ItemError(0, "events", "must be an object or a list of them")])
    if not payload:
        raise BatchRejected([ItemError(0, "events", "no event given")])
    if len(payload) > MAX_EVENTS:
        raise BatchRejected([ItemError(0, "events", f"at most {MAX_EVENTS} events per request")])
    return payload


def events_validate(*, rows: list[Any], principal: Any) -> list[RegistryEvent]:
    """Every row checked; raises BatchRejected naming each bad field."""
    errors: list[ItemError] = []
    events: list[RegistryEvent] = []
    names = names_of(rows, "model")
    models = {m.name: m for m in RegisteredModel.objects.filter(name__in=names)}
    endpoint_names = names_of(rows, "endpoint")
    endpoints = {e.name: e for e in Endpoint.objects.filter(name__in=endpoint_names)}
    registered_in_batch: set[tuple[int, str]] = set()
    now = timezone.now()
    for index, item in enumerate(rows):
        bad_before = len(errors)

        def bad(name: str, reason: str, index: int = index, *, forbidden: bool = False) -> None:
            errors.append(ItemError(index, name, reason, forbidden=forbidden))

        if not isinstance(item, dict):
            bad("event", "must be a JSON object")
            continue
        for unknown in sorted(set(item) - _KNOWN_FIELDS):
            bad(unknown, "unknown field")
        values: dict[str, Any] = {}
        for name, required, limit in (
            ("event_id", True, 200),
            ("event", True, 32),
            ("model", True, 200),
            ("version", True, 100),
            ("registry", False, 200),
            ("endpoint", False, 200),
            ("alias", False, 200),
            ("reason", False, 500),
            ("run_id", False, 200),
            ("description", False, 5000),
        ):
            try:
                values[name] = _text(item, name, required=required, limit=limit)
            except ValueError as exc:
                bad(name, str(exc))
                continue
            if required and values[name] is None:
                bad(name, "is required")
        kind = values.get("event")
        if kind and kind not in EVENT_KINDS:
            bad("event", f"must be one of {', '.join(EVENT_KINDS)}")
        timestamp = time_parse(item.get("timestamp"), now=now)
        if "timestamp" not in item:
            bad("timestamp", "is required")
        elif isinstance(timestamp, str):
            bad("timestamp", timestamp)
        run_ended_at = None
        if item.get("run_ended_at") is not None:
            run_ended_at = time_parse(item["run_ended_at"], now=now)
            if isinstance(run_ended_at, str):
                bad("run_ended_at", run_ended_at)
        model = models.get(values.get("model") or "")
        if values.get("model") and model is None:
            bad("model", "unknown model; create it in the catalog first")
        elif model is not None and not principal_may_push_for(principal, model):
            bad("model", "your token's team does not own this model", forbidden=True)
        role = item.get("role", DeploymentRole.PRODUCTION)
        if role not in DeploymentRole.values:
            bad("role", f"must be one of {', '.join(DeploymentRole.values)}")
        share = item.get("traffic_share")
        if share is not None and (
            isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1
        ):
            bad("traffic_share", "must be a number from 0 to 1")
        outcome = item.get("outcome", "succeeded")
        if outcome not in OUTCOMES:
            bad("outcome", "must be succeeded or failed")
        elif outcome == "failed" and kind != "deployed":
            bad("outcome", "only a deployed event can fail")
        endpoint = None
        if kind in ("deployed", "rolled_back"):
            if not values.get("endpoint"):
                bad("endpoint", f"is required for a {kind} event")
            else:
                endpoint = endpoints.get(values["endpoint"])
                if endpoint is None:
                    bad("endpoint", "unknown endpoint")
                elif not principal_may_use_endpoint(principal=principal, endpoint=endpoint):
                    bad("endpoint", "the endpoint belongs to another team", forbidden=True)
        if kind == "rolled_back" and role != DeploymentRole.PRODUCTION:
            bad("role", "a rollback restores the production version")
        version = values.get("version")
        if model is not None and version and kind and kind != "registered":
            exists = ModelVersion.objects.filter(model=model, version=version).exists()
            if not exists and (model.pk, version) not in registered_in_batch:
                bad("version", "unknown version of this model; send its registered event first")
        if len(errors) > bad_before:
            continue
        assert model is not None and isinstance(timestamp, datetime)
        if kind == "registered":
            registered_in_batch.add((model.pk, version))
        events.append(
            RegistryEvent(
                index=index,
                event_id=values["event_id"],
                kind=kind,
                timestamp=timestamp,
                model=model,
                version=version,
                registry=values.get("registry") or "",
                endpoint=endpoint,
                role=role,
                traffic_share=Decimal(str(share)) if share is not None else None,
                alias=values.get("alias") or "champion",
                outcome=outcome,
                reason=values.get("reason") or "",
                run_id=values.get("run_id") or "",
                run_ended_at=run_ended_at,
                description=values.get("description") or "",
            )
        )
    if errors:
        raise BatchRejected(errors)
    return events


def registry_events_ingest(*, payload: Any, principal: Any) -> EventsResult:
    """Validate and apply a batch of registry events, all or nothing."""
    events = events_validate(rows=events_rows(payload), principal=principal)
    pushed_by_id = principal_token_id(principal)
    result = EventsResult()
    with transaction.atomic():
        seen = set(
            LifecycleChange.objects.filter(
                source=ChangeSource.PUSH, external_id__in=[e.event_id for e in events]
            ).values_list("external_id", flat=True)
        )
        for event in events:
            if event.event_id in seen:
                result.repeats += 1
                continue
            seen.add(event.event_id)
            result.changes.append(registry_event_apply(event, pushed_by_id=pushed_by_id).pk)
            result.accepted += 1
    return result


def registry_event_apply(
    event: RegistryEvent, *, pushed_by_id: int | None = None
) -> LifecycleChange:
    at = event.timestamp
    common: dict[str, Any] = {
        "source": ChangeSource.PUSH,
        "pushed_by_id": pushed_by_id,
        "external_id": event.event_id,
        "model": event.model,
        "happened_after": at,
        "happened_before": at,
    }
    detail: dict[str, Any] = {"registry": event.registry} if event.registry else {}
    if event.kind == "registered":
        version = catalog_version_ensure(
            model=event.model,
            version=event.version,
            registered_at=at,
            run_id=event.run_id,
            description=event.description,
        )
        if event.run_ended_at:
            detail["run_ended_at"] = event.run_ended_at.isoformat()
        if event.run_id:
            detail["run_id"] = event.run_id
        return change_record(
            kind=ChangeKind.REGISTERED,
            model_version=version,
            new_value=event.version,
            detail=detail,
            **common,
        )
    version = ModelVersion.objects.get(model=event.model, version=event.version)
    if event.kind == "promoted":
        return change_record(
            kind=ChangeKind.PROMOTED,
            model_version=version,
            key=event.alias,
            new_value=event.version,
            role=DeploymentRole.PRODUCTION,
            detail=detail,
            **common,
        )
    if event.kind == "archived":
        stopped = deployment_stop(version=version, endpoint=None, role=None, at=at)
        detail["undeployed"] = [d.pk for d in stopped]
        return change_record(
            kind=ChangeKind.ARCHIVED, model_version=version, detail=detail, **common
        )
    assert event.endpoint is not None
    if event.outcome == "failed":
        detail["reason"] = event.reason
        return change_record(
            kind=ChangeKind.DEPLOYMENT_FAILED,
            model_version=version,
            endpoint=event.endpoint,
            role=event.role,
            detail=detail,
            **common,
        )
    deployment, replaced = deployment_start(
        version=version,
        endpoint=event.endpoint,
        role=event.role,
        at=at,
        traffic_share=event.traffic_share
        if event.traffic_share is not None
        else traffic_share_for(event.role),
    )
    detail["replaced"] = [d.pk for d in replaced]
    return change_record(
        kind=ChangeKind.ROLLED_BACK if event.kind == "rolled_back" else ChangeKind.DEPLOYED,
        model_version=version,
        endpoint=event.endpoint,
        role=event.role,
        deployment=deployment,
        detail=detail,
        **common,
    )
