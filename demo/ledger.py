"""The deployment ledger of the demo: what the registries told kpiboard.

Most teams' pipelines push registry events (registered, promoted, deployed, rolled back,
failed); those go through `registry_events_ingest`, the service behind
`POST /api/v1/registry-events/`. The catalog rows exist by then, so the events only add
their ledger entries and link them to the deployments. Two teams keep an MLflow registry
that kpiboard polls, with a serving layer deploying what the aliases point at: their
entries are written as the poll writes them (`change_record` with the poll's interval), so
their time to deploy carries poll-interval bounds.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from demo.plan import POLL_SECONDS, DeploymentPlan, Plan, VersionPlan, poll_window
from demo.rows import CatalogRows
from demo.specs import MODELS, PIPELINES, PRODUCTION, REGISTRIES, SHADOW, registry_spec
from ingestion.registry.events import MAX_EVENTS, registry_events_ingest
from ingestion.registry.ledger import change_record
from lifecycle.catalog.models import Deployment, ModelVersion
from lifecycle.deployment.models import (
    ChangeKind,
    ChangeSource,
    LifecycleChange,
    Registry,
    RegistryKind,
    RegistryVersionState,
)

# Two rollouts that the pipeline stopped before any traffic moved.
_FAILED_ATTEMPTS = (
    "The serving role could not read the model artifact (AccessDenied on the model "
    "bucket); the pipeline stopped before any traffic moved.",
    "The release manifest pinned the previous version; the pipeline's version check "
    "refused to deploy it.",
)


@dataclass(frozen=True)
class LedgerSummary:
    changes_by_kind: dict[str, int]
    registries: int
    pushed_events: int


def _iso(t: datetime) -> str:
    return t.isoformat()


def _promotions(plan: Plan, rand: random.Random) -> dict[int, datetime]:
    """When each version was promoted: a little before its first production rollout."""
    promoted: dict[int, datetime] = {}
    for d in sorted(plan.deployments, key=lambda d: d.start):
        v = d.version
        if d.role != PRODUCTION or d.split or id(v) in promoted:
            continue
        earliest = v.registered_at + timedelta(hours=1)
        promoted[id(v)] = max(earliest, d.start - timedelta(hours=rand.uniform(1, 48)))
    return promoted


def _pushed_events(plan: Plan, rand: random.Random) -> list[tuple[datetime, dict[str, Any]]]:
    polled = {m.name for m in MODELS if m.registry}
    promoted = _promotions(plan, rand)
    events: list[tuple[datetime, dict[str, Any]]] = []

    def push(at: datetime, v: VersionPlan, kind: str, key: str = "", **more: Any) -> None:
        events.append(
            (
                at,
                {
                    "event_id": f"demo:{v.model.name}:{v.name}:{kind}:{key}",
                    "event": kind,
                    "timestamp": _iso(at),
                    "model": v.model.name,
                    "version": v.name,
                    "registry": PIPELINES[v.model.team],
                    **more,
                },
            )
        )

    for v in plan.versions:
        if v.model.name in polled:
            continue
        push(
            v.registered_at,
            v,
            "registered",
            run_id=v.run_id,
            run_ended_at=_iso(v.run_ended_at),
            description=v.description,
        )
        if id(v) in promoted:
            push(promoted[id(v)], v, "promoted", alias="champion")
    # The latest two production rollouts had a failed first attempt.
    recent = sorted(
        (
            d
            for d in plan.deployments
            if d.role == PRODUCTION and d.kind == "deployed" and not d.split
            if d.version.model.name not in polled and not d.version.model.rolled_back
        ),
        key=lambda d: d.start,
        reverse=True,
    )
    failing = {id(d): reason for d, reason in zip(recent, _FAILED_ATTEMPTS, strict=False)}
    for n, d in enumerate(plan.deployments):
        v = d.version
        if v.model.name in polled or d.split:
            continue
        target = {"endpoint": v.model.endpoint, "role": d.role, "traffic_share": d.share}
        if id(d) in failing:
            at = promoted[id(v)] + (d.start - promoted[id(v)]) / 2
            reason = failing[id(d)]
            push(at, v, "deployed", f"{n}:failed", outcome="failed", reason=reason, **target)
        if d.kind == "rolled_back":
            push(d.start, v, "promoted", str(n), alias="champion")  # the alias moved back
        push(d.start, v, d.kind, str(n), **target)
    events.sort(key=lambda e: e[0])
    return events


def _version_rows(plan: Plan, rows: CatalogRows) -> dict[int, ModelVersion]:
    return {id(v): row for v, row in zip(plan.versions, rows.versions, strict=True)}


def _polled_write(plan: Plan, rows: CatalogRows) -> int:
    """Registries, their last-seen states and ledger entries, as the polls recorded them."""
    version_row = _version_rows(plan, rows)
    deployment_row = {id(d): row for d, row in zip(plan.deployments, rows.deployments, strict=True)}
    for spec in REGISTRIES:
        minutes = spec.poll_minutes
        last_sent, _ = poll_window(plan.now - timedelta(minutes=minutes), minutes)
        registry = Registry.objects.create(
            name=spec.name,
            kind=RegistryKind.MLFLOW,
            base_url=f"https://{spec.name}.example.com",
            # A demo registry has no server to poll: enabled, the scheduler would only
            # record failures.
            enabled=False,
            poll_interval_minutes=minutes,
            default_team=rows.teams[spec.team],
            default_industry=rows.industries[spec.industry],
            deploy_endpoint=rows.endpoints[spec.endpoint],
            last_attempt_at=last_sent + timedelta(minutes=minutes),
            last_success_at=last_sent + timedelta(minutes=minutes, seconds=POLL_SECONDS),
            last_success_started_at=last_sent + timedelta(minutes=minutes),
        )
        versions = [v for v in plan.versions if v.model.registry == spec.name]
        for v in versions:
            change_record(
                kind=ChangeKind.REGISTERED,
                source=ChangeSource.POLL,
                registry=registry,
                model=rows.models[v.model.name],
                model_version=version_row[id(v)],
                happened_after=v.registered_at,
                happened_before=v.registered_at,
                new_value=v.name,
                detail={"run_id": v.run_id, "run_ended_at": _iso(v.run_ended_at)},
            )
        deployments = [d for d in plan.deployments if d.version.model.registry == spec.name]
        for d in sorted(deployments, key=lambda d: d.start):
            _polled_deployment(registry, d, deployments, version_row, deployment_row, rows)
        current = {
            id(d.version): "champion" if d.role == PRODUCTION else "challenger"
            for d in deployments
            if d.active_at(plan.now)
        }
        RegistryVersionState.objects.bulk_create(
            RegistryVersionState(
                registry=registry,
                model_name=v.model.name,
                version=v.name,
                model_version=version_row[id(v)],
                aliases=[current[id(v)]] if id(v) in current else [],
                status="READY",
                run_id=v.run_id,
                seen_at=last_sent + timedelta(minutes=minutes),
                run_ended_at=v.run_ended_at,
                run_synced=True,
            )
            for v in versions
        )
        registry.last_counts = {"models": 1, "versions": len(versions), "changes": 0}
        registry.save(update_fields=["last_counts"])
    return len(REGISTRIES)


def _seen(answered: datetime, minutes: int) -> tuple[datetime, datetime]:
    """The interval a poll answered at `answered` records: since the previous poll's send."""
    return answered - timedelta(minutes=minutes, seconds=POLL_SECONDS), answered


def _polled_deployment(
    registry: Registry,
    d: DeploymentPlan,
    deployments: list[DeploymentPlan],
    version_row: dict[int, ModelVersion],
    deployment_row: dict[int, Deployment],
    rows: CatalogRows,
) -> None:
    if d.split:
        return
    minutes = registry_spec(registry.name).poll_minutes
    v = d.version
    alias = "champion" if d.role == PRODUCTION else "challenger"
    common = {
        "source": ChangeSource.POLL,
        "registry": registry,
        "model": rows.models[v.model.name],
        "model_version": version_row[id(v)],
        "role": d.role,
    }
    after, before = _seen(d.start, minutes)
    change_record(
        kind=ChangeKind.ALIAS_SET,
        key=alias,
        new_value=v.name,
        happened_after=after,
        happened_before=before,
        **common,
    )
    replaced = [
        deployment_row[id(o)].pk
        for o in deployments
        if o.role == d.role and o.end == d.start and o.version is not v
    ]
    change_record(
        kind=ChangeKind.ROLLED_BACK if d.kind == "rolled_back" else ChangeKind.DEPLOYED,
        endpoint=registry.deploy_endpoint,
        deployment=deployment_row[id(d)],
        happened_after=after,
        happened_before=before,
        detail={"replaced": replaced},
        **common,
    )
    if d.end is None:
        return
    after, before = _seen(d.end, minutes)
    change_record(
        kind=ChangeKind.ALIAS_REMOVED,
        key=alias,
        old_value=v.name,
        happened_after=after,
        happened_before=before,
        **common,
    )
    if d.role == SHADOW:  # promoted: the poll stops the shadow it no longer points at
        change_record(
            kind=ChangeKind.UNDEPLOYED,
            endpoint=registry.deploy_endpoint,
            deployment=deployment_row[id(d)],
            happened_after=after,
            happened_before=before,
            **common,
        )


def ledger_write(plan: Plan, rows: CatalogRows) -> LedgerSummary:
    rand = random.Random(f"{plan.seed}:ledger")
    events = [item for _, item in _pushed_events(plan, rand)]
    for start in range(0, len(events), MAX_EVENTS):
        registry_events_ingest(
            payload={"events": events[start : start + MAX_EVENTS]}, principal=None
        )
    registries = _polled_write(plan, rows)
    models = list(rows.models.values())
    kinds = LifecycleChange.objects.filter(model__in=models).values_list("kind", flat=True)
    return LedgerSummary(
        changes_by_kind=dict(Counter(kinds)),
        registries=registries,
        pushed_events=len(events),
    )
