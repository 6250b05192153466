"""`demo_portfolio_seed`: plan, then write the catalog, the registries' ledger, training
runs, serving events, labels and incidents in one transaction, and roll the events up.
`demo_portfolio_delete` takes the demo away again."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef, ProtectedError

from demo.datasets import DATASET_ROWS, PROFILED_VERSIONS, SHIFTED_DATASET
from demo.events import events_write
from demo.labels import LabelsSummary, labels_write
from demo.ledger import LedgerSummary, ledger_write
from demo.plan import CLASSES, plan_make
from demo.rows import catalog_write, incidents_write
from demo.specs import (
    BATCH,
    DATASETS,
    ENDPOINTS,
    INDUSTRIES,
    MODELS,
    REGISTRIES,
    STREAMING,
    TEAMS,
)
from demo.training import TrainingSummary, training_write
from demo.users import DEMO_EMAIL_DOMAIN, DEMO_PASSWORD, DemoSeedError, users_write
from ingestion.rollups import rollups_rebuild
from lifecycle.catalog.models import (
    Dataset,
    Deployment,
    DeploymentRole,
    Endpoint,
    Industry,
    Label,
    RegisteredModel,
    ServingEvent,
    Team,
)
from lifecycle.deployment.models import LifecycleChange, Registry
from lifecycle.monitoring.models import Incident

DEFAULT_SEED = 7


@dataclass(frozen=True)
class DemoSummary:
    now: datetime
    seed: int
    window_start: datetime
    industries: int
    teams: int
    business_units: tuple[str, ...]
    models_by_mode: dict[str, int]
    versions: int
    endpoints: int
    multi_model_endpoints: tuple[str, ...]
    deployments_by_role: dict[str, int]
    active_by_role: dict[str, int]
    datasets: int
    dataset_versions: int
    profiles: int
    events: int
    error_events: int
    incidents_by_class: dict[str, int]
    drifting_model: str
    ledger: LedgerSummary
    training: TrainingSummary
    labels: LabelsSummary
    users: tuple[tuple[str, str], ...]
    password: str

    def lines(self) -> list[str]:
        roles = ", ".join(f"{r} {self.deployments_by_role.get(r, 0)}" for r in DeploymentRole)
        active = ", ".join(f"{r} {self.active_by_role.get(r, 0)}" for r in DeploymentRole)
        error_share = self.error_events / self.events if self.events else 0.0
        changes = self.ledger.changes_by_kind
        labels = ", ".join(
            f"{model} {n:,} of {self.labels.scored_by_model[model]:,} scored events"
            for model, n in self.labels.by_model.items()
        )
        return [
            f"Demo portfolio at {self.now:%Y-%m-%d %H:%M} UTC (seed {self.seed}), "
            f"events since {self.window_start:%Y-%m-%d %H:%M} UTC:",
            f"  industries: {self.industries}",
            f"  teams: {self.teams} (business units: {', '.join(self.business_units)})",
            f"  models: {sum(self.models_by_mode.values())} "
            f"({self.models_by_mode.get(STREAMING, 0)} streaming, "
            f"{self.models_by_mode.get(BATCH, 0)} batch) with {self.versions} versions",
            f"  endpoints: {self.endpoints} (multi-model: {', '.join(self.multi_model_endpoints)})",
            f"  deployments: {sum(self.deployments_by_role.values())} ({roles}); "
            f"active now: {active}",
            f"  ledger: {sum(changes.values())} changes ("
            + ", ".join(f"{kind} {n}" for kind, n in sorted(changes.items()))
            + f") from {self.ledger.pushed_events} pushed registry events and "
            f"{self.ledger.registries} polled MLflow registries",
            f"  training runs: {self.training.runs} with {self.training.metrics} "
            "development metrics",
            f"  datasets: {self.datasets} with {self.dataset_versions} versions; "
            f"{self.profiles} profiled from uploaded files (the newest {PROFILED_VERSIONS} "
            f"of each; {SHIFTED_DATASET} shifts in its newest)",
            f"  serving events: {self.events:,} ({error_share:.2%} errors); "
            f"inputs drift on {self.drifting_model}",
            f"  labels: {sum(self.labels.by_model.values()):,} ({labels})",
            "  incidents: "
            + ", ".join(f"{c} {self.incidents_by_class.get(c, 0)}" for c in CLASSES),
            f"  users (password {self.password}): "
            + ", ".join(f"{name} ({role})" for name, role in self.users),
        ]


def _quiet(message: str) -> None:
    pass


def demo_portfolio_seed(
    *,
    now: datetime,
    seed: int = DEFAULT_SEED,
    days: int = 30,
    volume: float = 1.0,
    reset: bool = False,
    progress: Callable[[str], None] = _quiet,
) -> DemoSummary:
    """Fill the catalog, dataset profiles, the deployment ledger, training runs, `days` of
    serving events ending at `now` with labels for some, incidents and demo users, all in
    one transaction. `volume` scales the traffic (tests use a small one). Refuses
    (DemoSeedError) when models exist, unless `reset`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if days < 2 or volume <= 0:
        raise ValueError("days must be at least 2 and volume positive")
    now = now.astimezone(UTC)
    with transaction.atomic():
        if reset:
            demo_portfolio_delete(progress=progress)
        elif RegisteredModel.objects.exists():
            raise DemoSeedError(
                "The catalog already holds models, and seed_demo only fills an empty one. "
                "Run it with --reset to delete the demo portfolio and demo users first."
            )
        users = users_write()  # first: it may refuse, and then nothing else is wasted
        progress(f"users: {', '.join(name for name, _ in users)}")
        plan = plan_make(now=now, seed=seed, days=days)
        # Small seeds (tests) upload smaller files too; the shift shows at any size.
        dataset_rows = round(DATASET_ROWS * min(1.0, max(volume, 0.2)))
        rows = catalog_write(plan, progress, dataset_rows=dataset_rows)
        ledger = ledger_write(plan, rows)
        progress(
            f"ledger: {sum(ledger.changes_by_kind.values())} changes from "
            f"{ledger.pushed_events} pushed registry events and {ledger.registries} registries"
        )
        training = training_write(plan, rows, progress=progress)
        written = events_write(plan, rows, volume=volume, progress=progress)
        labels = labels_write(plan, written.scored, progress=progress)
        incidents_write(plan, rows)
        progress(f"incidents: {len(plan.incidents)}, one per failure class")
    progress("rollups: rebuilding")
    rollups_rebuild()  # the events were written straight to the table: roll them up now

    endpoint_models = Counter(m.endpoint for m in MODELS)
    return DemoSummary(
        now=now,
        seed=seed,
        window_start=plan.start,
        industries=len(INDUSTRIES),
        teams=len(TEAMS),
        business_units=tuple(sorted({unit for _, unit, _ in TEAMS})),
        models_by_mode=dict(Counter(m.mode for m in MODELS)),
        versions=len(plan.versions),
        endpoints=len(ENDPOINTS),
        multi_model_endpoints=tuple(name for name, n in endpoint_models.items() if n > 1),
        deployments_by_role=dict(Counter(d.role for d in plan.deployments)),
        active_by_role=dict(Counter(d.role for d in plan.deployments if d.active_at(now))),
        datasets=len(DATASETS),
        dataset_versions=sum(len(v) for v in plan.dataset_versions.values()),
        profiles=rows.profiles,
        events=written.total,
        error_events=written.errors,
        incidents_by_class=dict(Counter(i.spec.failure_class for i in plan.incidents)),
        drifting_model=next(m.name for m in MODELS if m.features == "drifting"),
        ledger=ledger,
        training=training,
        labels=labels,
        users=users,
        password=DEMO_PASSWORD,
    )


def demo_portfolio_delete(*, progress: Callable[[str], None] = _quiet) -> None:
    """Delete the demo's catalog, ledger, registries, profiles, runs, labels and
    monitoring rows (found by their names), with their events, and the demo users. Rows
    the demo did not make are left alone."""
    models = [m.name for m in MODELS]
    with transaction.atomic():
        events = ServingEvent.objects.filter(model__name__in=models)
        # Labels join events by (event_id, team), not a foreign key: they go with their
        # events.
        Label.objects.filter(
            Exists(events.filter(event_id=OuterRef("event_id"), team_id=OuterRef("team_id")))
        ).delete()
        # Events as one DELETE: cascading them from the models would collect hundreds of
        # thousands of rows in Python.
        deleted, _ = events.delete()
        Incident.objects.filter(model__name__in=models).delete()
        LifecycleChange.objects.filter(model__name__in=models).delete()
        Registry.objects.filter(name__in=[r.name for r in REGISTRIES]).delete()
        Deployment.objects.filter(model_version__model__name__in=models).delete()
        RegisteredModel.objects.filter(name__in=models).delete()
        try:
            Endpoint.objects.filter(name__in=[e.name for e in ENDPOINTS]).delete()
            Dataset.objects.filter(name__in=[d.name for d in DATASETS]).delete()
            Team.objects.filter(name__in=[name for name, _, _ in TEAMS]).delete()
            Industry.objects.filter(name__in=[name for name, _ in INDUSTRIES]).delete()
        except ProtectedError as exc:
            blocking = ", ".join(sorted({str(o) for o in exc.protected_objects})[:5])
            raise DemoSeedError(
                f"Cannot delete the demo portfolio: rows it did not make still use it "
                f"({blocking}). Move or delete them first."
            ) from exc
        User.objects.filter(email__endswith=f"@{DEMO_EMAIL_DOMAIN}").delete()
    progress(f"reset: deleted the demo portfolio ({deleted:,} events) and demo users")
