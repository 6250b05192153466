"""Polling a registry: read everything, then diff it against what kpiboard last saw and
record each difference in the ledger, in one transaction.

Reading comes first and writes nothing, so a registry that fails half-way through its
pages leaves no half-applied poll behind: the failure is recorded on the registry (last
error, next try with backoff) and the next successful poll sees the same changes.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.db import models, transaction
from django.utils import timezone

from ingestion.registry.http import RegistryError
from ingestion.registry.ledger import (
    catalog_model_ensure,
    catalog_version_ensure,
    change_record,
    deployment_start,
    deployment_stop,
    traffic_share_for,
)
from ingestion.registry.mlflow import (
    MlflowReader,
    MlflowRun,
    MlflowSnapshot,
    MlflowVersion,
    ms_to_datetime,
)
from lifecycle.catalog.models import (
    DeploymentRole,
    LifecycleMetric,
    LifecyclePhase,
    ModelVersion,
    RegisteredModel,
)
from lifecycle.deployment.models import (
    ChangeKind,
    ChangeSource,
    LifecycleChange,
    Registry,
    RegistryVersionState,
)

logger = logging.getLogger(__name__)

NO_STAGE = "None"
# Changes MLflow's webhooks report exactly; a poll defers to them.
_WEBHOOK_KINDS = (
    ChangeKind.ALIAS_SET,
    ChangeKind.ALIAS_REMOVED,
    ChangeKind.TAG_SET,
    ChangeKind.TAG_REMOVED,
)
MAX_BACKOFF = timedelta(hours=1)


@dataclass
class SyncReport:
    ok: bool = True
    error: str = ""
    models: int = 0
    versions: int = 0
    new_versions: int = 0
    changes: int = 0
    deployments: int = 0
    metrics: int = 0
    requests: int = 0
    counts_by_kind: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def backoff_delay(*, failures: int, poll_interval: timedelta) -> timedelta:
    """1, 2, 4 ... minutes after consecutive failures, capped at an hour (or the poll
    interval when that is longer), so a registry that is down is retried soon but is not
    hammered."""
    delay = timedelta(minutes=2 ** max(failures - 1, 0))
    return min(delay, max(MAX_BACKOFF, poll_interval))


def registries_due(*, now: datetime, lease: timedelta = timedelta(minutes=10)) -> list[int]:
    """Ids of the enabled registries whose next poll is due, each leased for a while so a
    slow poll is not queued again by the next beat."""
    with transaction.atomic():
        due = list(
            Registry.objects.select_for_update()
            .filter(enabled=True)
            .filter(models.Q(next_poll_at__isnull=True) | models.Q(next_poll_at__lte=now))
            .values_list("pk", flat=True)
        )
        Registry.objects.filter(pk__in=due).update(next_poll_at=now + lease)
    return due


def registry_sync(
    *,
    registry_id: int,
    clock: Callable[[], datetime] = timezone.now,
    on_page: Callable[[str, int], None] | None = None,
) -> SyncReport:
    """Poll one registry and record what changed since the last successful poll."""
    registry = Registry.objects.select_related("deploy_endpoint").get(pk=registry_id)
    Registry.objects.filter(pk=registry_id).update(last_attempt_at=clock())
    states = RegistryVersionState.objects.filter(registry=registry)
    known = {(s.model_name, s.version) for s in states.filter(deleted=False)}
    runs_done = {(s.model_name, s.version) for s in states.filter(run_synced=True)}
    reader = MlflowReader(registry, clock=clock, on_page=on_page)
    try:
        snapshot = reader.snapshot(
            known_versions=known,
            runs_wanted=lambda v: (v.name, v.version) not in runs_done,
        )
    except RegistryError as exc:
        return _failure_record(registry_id=registry_id, error=str(exc), at=clock())

    with transaction.atomic():
        # The lock makes two polls of one registry take turns: the second diffs against
        # what the first wrote, so no change is recorded twice.
        registry = (
            Registry.objects.select_for_update(of=("self",))
            .select_related("deploy_endpoint")
            .get(pk=registry_id)
        )
        report = snapshot_apply(registry=registry, snapshot=snapshot)
        report.requests = snapshot.requests
        assert snapshot.finished_at is not None and snapshot.started_at is not None
        registry.last_success_at = snapshot.finished_at
        registry.last_success_started_at = snapshot.started_at
        registry.consecutive_failures = 0
        registry.next_poll_at = snapshot.finished_at + timedelta(
            minutes=registry.poll_interval_minutes
        )
        registry.last_counts = report.as_dict()
        registry.save(
            update_fields=[
                "last_success_at",
                "last_success_started_at",
                "consecutive_failures",
                "next_poll_at",
                "last_counts",
            ]
        )
    logger.info("registry %s synced: %s", registry.name, report.as_dict())
    return report


def _failure_record(*, registry_id: int, error: str, at: datetime) -> SyncReport:
    with transaction.atomic():
        registry = Registry.objects.select_for_update().get(pk=registry_id)
        registry.consecutive_failures += 1
        registry.last_error = error[:2000]
        registry.last_error_at = at
        registry.next_poll_at = at + backoff_delay(
            failures=registry.consecutive_failures,
            poll_interval=timedelta(minutes=registry.poll_interval_minutes),
        )
        registry.save(
            update_fields=["consecutive_failures", "last_error", "last_error_at", "next_poll_at"]
        )
    logger.warning("registry %s failed: %s", registry.name, error)
    return SyncReport(ok=False, error=error)


@dataclass
class _RoleChange:
    version: ModelVersion
    role: str
    after: datetime
    before: datetime
    tags: dict[str, str]


class _Applier:
    """One poll's diff, applied inside the caller's transaction."""

    def __init__(self, registry: Registry, snapshot: MlflowSnapshot) -> None:
        self.registry = registry
        self.snapshot = snapshot
        self.report = SyncReport()
        self.models: dict[str, RegisteredModel] = {}
        self.gained: list[_RoleChange] = []
        self.lost: list[_RoleChange] = []

    def record(self, kind: str, model: RegisteredModel, **fields: object) -> LifecycleChange | None:
        if kind in _WEBHOOK_KINDS and self.known_exactly(kind, **fields):
            return None
        self.report.changes += 1
        counts = self.report.counts_by_kind
        counts[str(kind)] = counts.get(str(kind), 0) + 1
        return change_record(
            kind=kind,
            source=ChangeSource.POLL,
            model=model,
            registry=self.registry,
            **fields,
        )

    def known_exactly(self, kind: str, **fields: object) -> bool:
        """Whether a webhook already told us of this change, at a moment inside the
        interval this poll would record: its exact entry stands, the poll adds nothing."""
        return LifecycleChange.objects.filter(
            registry=self.registry,
            source=ChangeSource.WEBHOOK,
            kind=kind,
            model_version=fields.get("model_version"),
            key=fields.get("key", ""),
            happened_before__gte=fields["happened_after"],
            happened_before__lte=fields["happened_before"],
        ).exists()

    def model(self, name: str) -> RegisteredModel:
        if name not in self.models:
            info = self.snapshot.models[name]
            self.models[name] = catalog_model_ensure(
                registry=self.registry, name=name, tags=info.tags
            )
        return self.models[name]

    def roles_of(self, stage: str, aliases: list[str]) -> set[str]:
        roles = {self.registry.role_of_alias(a) for a in aliases}
        roles.add(self.registry.role_of_stage(stage))
        return {r for r in roles if r in DeploymentRole.values}

    def apply(self) -> SyncReport:
        states = {
            (s.model_name, s.version): s
            for s in RegistryVersionState.objects.filter(registry=self.registry)
        }
        catalog = {
            (v.model.name, v.version): v
            for v in ModelVersion.objects.filter(
                model__name__in=list(self.snapshot.models)
            ).select_related("model")
        }
        registered = set(
            LifecycleChange.objects.filter(
                kind=ChangeKind.REGISTERED, model__name__in=list(self.snapshot.models)
            ).values_list("model_version_id", flat=True)
        )
        self.report.models = len(self.snapshot.models)
        touched: list[RegistryVersionState] = []
        for mv in self.snapshot.versions:
            if mv.name not in self.snapshot.models:
                continue  # its model was created after we listed models: next poll
            self.report.versions += 1
            state = states.pop((mv.name, mv.version), None)
            touched.append(self.version_apply(mv, state, catalog, registered))
        for state in states.values():
            if not state.deleted:
                touched.append(self.version_deleted(state))
        self.deployments_apply()
        # Every state seen is confirmed as of this poll; save them in one statement.
        new = [s for s in touched if s.pk is None]
        old = [s for s in touched if s.pk is not None]
        RegistryVersionState.objects.bulk_create(new)
        RegistryVersionState.objects.bulk_update(
            old,
            [
                "model_version",
                "stage",
                "aliases",
                "tags",
                "status",
                "run_id",
                "registry_updated_ms",
                "seen_at",
                "deleted",
                "run_synced",
                "run_ended_at",
            ],
            batch_size=500,
        )
        return self.report

    def version_apply(
        self,
        mv: MlflowVersion,
        state: RegistryVersionState | None,
        catalog: dict[tuple[str, str], ModelVersion],
        registered: set[int],
    ) -> RegistryVersionState:
        model = self.model(mv.name)
        info = self.snapshot.models[mv.name]
        version = catalog.get((mv.name, mv.version))
        if (
            version is None
            or version.seen_in_serving_at is not None
            or version.registered_at != mv.created_at
            or (mv.run_id and version.run_id != mv.run_id)
        ):
            version = catalog_version_ensure(
                model=model,
                version=mv.version,
                registered_at=mv.created_at,
                run_id=mv.run_id,
                description=mv.description,
            )
        aliases = sorted(a for a, v in info.aliases.items() if v == mv.version)
        # The state we report was true at some moment between sending the first of the two
        # reads (versions page, model's aliases) and receiving the last.
        seen = min(mv.sent_at, info.sent_at)
        upper = max(mv.received_at, info.received_at)
        run = self.snapshot.runs.get(mv.run_id) if mv.run_id else None

        if state is None:
            self.report.new_versions += 1
            if version.pk not in registered:
                self.record(
                    ChangeKind.REGISTERED,
                    model,
                    model_version=version,
                    happened_after=mv.created_at,
                    happened_before=mv.created_at,
                    new_value=mv.version,
                    detail={
                        "run_id": mv.run_id,
                        "run_ended_at": run.ended_at.isoformat() if run and run.ended_at else None,
                    },
                )
            # A version cannot have had a stage or alias before it existed.
            lower = mv.created_at
            old_stage, old_aliases, old_tags, old_status = NO_STAGE, [], {}, "READY"
            state = RegistryVersionState(
                registry=self.registry, model_name=mv.name, version=mv.version, seen_at=seen
            )
        else:
            lower = state.seen_at
            old_stage, old_aliases = state.stage or NO_STAGE, list(state.aliases)
            old_tags, old_status = dict(state.tags), state.status
            if state.deleted:
                old_stage, old_aliases = NO_STAGE, []

        if mv.stage != old_stage:
            # A stage change moves last_updated_timestamp, so that bounds it from above
            # (later edits only move it later); it is never the time of the change itself.
            before = min(upper, mv.updated_at) if mv.updated_at else upper
            before = max(before, lower)
            self.record(
                ChangeKind.STAGE_CHANGED,
                model,
                model_version=version,
                key="stage",
                old_value=old_stage,
                new_value=mv.stage,
                role=self.registry.role_of_stage(mv.stage),
                happened_after=lower,
                happened_before=before,
            )
        for alias in sorted(set(aliases) - set(old_aliases)):
            self.record(
                ChangeKind.ALIAS_SET,
                model,
                model_version=version,
                key=alias,
                new_value=mv.version,
                role=self.registry.role_of_alias(alias),
                happened_after=lower,
                happened_before=upper,
            )
        for alias in sorted(set(old_aliases) - set(aliases)):
            self.record(
                ChangeKind.ALIAS_REMOVED,
                model,
                model_version=version,
                key=alias,
                old_value=mv.version,
                role=self.registry.role_of_alias(alias),
                happened_after=lower,
                happened_before=upper,
            )
        for key in sorted(mv.tags):
            if old_tags.get(key) != mv.tags[key]:
                self.record(
                    ChangeKind.TAG_SET,
                    model,
                    model_version=version,
                    key=key,
                    old_value=old_tags.get(key, ""),
                    new_value=mv.tags[key],
                    happened_after=lower,
                    happened_before=upper,
                )
        for key in sorted(set(old_tags) - set(mv.tags)):
            self.record(
                ChangeKind.TAG_REMOVED,
                model,
                model_version=version,
                key=key,
                old_value=old_tags[key],
                happened_after=lower,
                happened_before=upper,
            )
        if mv.status and mv.status != old_status:
            self.record(
                ChangeKind.STATUS_CHANGED,
                model,
                model_version=version,
                key="status",
                old_value=old_status,
                new_value=mv.status,
                happened_after=lower,
                happened_before=upper,
            )

        old_roles = self.roles_of(old_stage, old_aliases)
        new_roles = self.roles_of(mv.stage, aliases)
        for role in new_roles - old_roles:
            self.gained.append(_RoleChange(version, role, lower, upper, mv.tags))
        for role in old_roles - new_roles:
            self.lost.append(_RoleChange(version, role, lower, upper, mv.tags))

        if run is not None:
            self.report.metrics += self.run_metrics_store(model, version, run)
            state.run_synced = run.final
            state.run_ended_at = run.ended_at
        state.model_version = version
        state.stage = mv.stage
        state.aliases = aliases
        state.tags = mv.tags
        state.status = mv.status
        state.run_id = mv.run_id
        state.registry_updated_ms = int(mv.updated_at.timestamp() * 1000) if mv.updated_at else None
        state.seen_at = seen
        state.deleted = False
        return state

    def version_deleted(self, state: RegistryVersionState) -> RegistryVersionState:
        assert self.snapshot.finished_at is not None
        version = state.model_version
        model = (
            version.model
            if version
            else RegisteredModel.objects.filter(name=state.model_name).first()
        )
        if model is None:
            state.deleted = True
            return state
        upper = self.snapshot.finished_at
        for alias in state.aliases:
            self.record(
                ChangeKind.ALIAS_REMOVED,
                model,
                model_version=version,
                key=alias,
                old_value=state.version,
                role=self.registry.role_of_alias(alias),
                happened_after=state.seen_at,
                happened_before=upper,
            )
        self.record(
            ChangeKind.DELETED,
            model,
            model_version=version,
            old_value=state.version,
            happened_after=state.seen_at,
            happened_before=upper,
        )
        if version is not None:
            for role in self.roles_of(state.stage, state.aliases):
                self.lost.append(_RoleChange(version, role, state.seen_at, upper, state.tags))
        state.deleted = True
        state.seen_at = self.snapshot.started_at or upper
        return state

    def deployments_apply(self) -> None:
        """Deployments follow the aliases only when the registry says a serving layer
        deploys them. Gains go first, so an alias moving from one version to another
        replaces the old deployment at the moment the new one starts."""
        endpoint = self.registry.deploy_endpoint
        if endpoint is None:
            return
        for change in sorted(self.gained, key=lambda c: c.before):
            deployment, replaced = deployment_start(
                version=change.version,
                endpoint=endpoint,
                role=change.role,
                at=change.before,
                traffic_share=traffic_share_for(change.role, change.tags),
            )
            if deployment.started_at != change.before:
                continue  # it was already deployed (e.g. pushed by a pipeline)
            rollback = change.role == DeploymentRole.PRODUCTION and any(
                old.model_version.registered_at > change.version.registered_at for old in replaced
            )
            self.report.deployments += 1
            self.record(
                ChangeKind.ROLLED_BACK if rollback else ChangeKind.DEPLOYED,
                change.version.model,
                model_version=change.version,
                role=change.role,
                endpoint=endpoint,
                deployment=deployment,
                happened_after=change.after,
                happened_before=change.before,
                detail={"replaced": [old.pk for old in replaced]},
            )
        for change in sorted(self.lost, key=lambda c: c.before):
            for deployment in deployment_stop(
                version=change.version, endpoint=endpoint, role=change.role, at=change.before
            ):
                self.record(
                    ChangeKind.UNDEPLOYED,
                    change.version.model,
                    model_version=change.version,
                    role=change.role,
                    endpoint=endpoint,
                    deployment=deployment,
                    happened_after=change.after,
                    happened_before=change.before,
                )

    def run_metrics_store(
        self, model: RegisteredModel, version: ModelVersion, run: MlflowRun
    ) -> int:
        """The run's latest metric values, as development-phase metrics of the version."""
        received = timezone.now()
        rows = []
        for metric in run.metrics:
            try:
                value = float(metric["value"])
            except (TypeError, ValueError):
                continue
            if not math.isfinite(value):
                # MLflow records a diverged loss as NaN; no KPI can use it and JSON cannot
                # carry it, so it is left out rather than stored.
                continue
            stamp = metric.get("timestamp")
            step = metric.get("step", 0)
            rows.append(
                LifecycleMetric(
                    metric_id=_metric_id(
                        f"mlflow:{self.registry.pk}:{model.name}:{version.version}:"
                        f"{run.run_id}:{metric['key']}:{step}"
                    ),
                    model=model,
                    model_version=version,
                    phase=LifecyclePhase.DEVELOPMENT,
                    name=str(metric["key"])[:200],
                    value=value,
                    timestamp=ms_to_datetime(stamp) or run.ended_at or received,
                    dimensions={"run_id": run.run_id, "registry": self.registry.name, "step": step},
                    received_at=received,
                )
            )
        # A repeat (same registry, version, run, key and step) is ignored by metric_id.
        LifecycleMetric.objects.bulk_create(rows, ignore_conflicts=True)
        return len(rows)


def _metric_id(natural: str) -> str:
    """The natural key when it fits the column; else a digest of it, so two long keys
    that share their first 200 characters stay two metrics."""
    if len(natural) <= 200:
        return natural
    return "mlflow:sha256:" + hashlib.sha256(natural.encode()).hexdigest()


def snapshot_apply(*, registry: Registry, snapshot: MlflowSnapshot) -> SyncReport:
    return _Applier(registry, snapshot).apply()
