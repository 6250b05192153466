"""Planning: everything but the traffic, decided up front from one random.Random, so the
same `now` and `seed` always make the same catalog, history and incidents."""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from demo.specs import (
    CANARY,
    DATASETS,
    INCIDENTS,
    MODELS,
    PRODUCTION,
    SHADOW,
    IncidentSpec,
    ModelSpec,
    registry_spec,
)
from lifecycle.catalog.models import FailureClass

US = 1_000_000
HOUR = 3600 * US
DAY = 24 * HOUR
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CLASSES = [c.value for c in FailureClass]  # error code k (1-based) is CLASSES[k - 1]
# A poll is sent on its registry's interval grid and has its answer a few seconds later.
POLL_SECONDS = 4


def us(t: datetime) -> int:
    return (t - EPOCH) // timedelta(microseconds=1)


def failure_code(failure_class: str) -> int:
    return CLASSES.index(failure_class) + 1


def poll_window(t: datetime, minutes: int) -> tuple[datetime, datetime]:
    """The poll that first sees a change made at `t`: the previous poll's send time (the
    last moment the old state was confirmed) and this poll's answer time."""
    step = timedelta(minutes=minutes)
    sent = EPOCH + ((t - EPOCH) // step + 1) * step
    return sent - step, sent + timedelta(seconds=POLL_SECONDS)


@dataclass(eq=False)
class VersionPlan:
    model: ModelSpec
    name: str
    registered_at: datetime
    latency_factor: float
    run_id: str
    description: str
    # The training run behind it ended a little before it was registered.
    run_hours: float = 0.0  # how long the run took
    run_gap_hours: float = 0.0  # from the run's end to the registration

    @property
    def run_ended_at(self) -> datetime:
        return self.registered_at - timedelta(hours=self.run_gap_hours)

    @property
    def run_started_at(self) -> datetime:
        return self.run_ended_at - timedelta(hours=self.run_hours)


@dataclass(eq=False)
class DeploymentPlan:
    version: VersionPlan
    role: str
    share: float
    start: datetime
    end: datetime | None
    kind: str = "deployed"  # "rolled_back" when it restores an older version
    split: bool = False  # the same version going on at a new traffic share

    def active_at(self, t: datetime) -> bool:
        return self.start <= t and (self.end is None or t < self.end)


@dataclass(frozen=True)
class IncidentPlan:
    spec: IncidentSpec
    start: datetime
    end: datetime
    title: str
    description: str


@dataclass(frozen=True)
class ModelNumbers:
    latency_median_ms: float
    latency_sigma: float
    error_rate: float
    timeout_ms: float


@dataclass
class Plan:
    now: datetime
    start: datetime
    seed: int
    versions: list[VersionPlan] = field(default_factory=list)
    deployments: list[DeploymentPlan] = field(default_factory=list)
    dataset_versions: dict[str, list[datetime]] = field(default_factory=dict)
    incidents: list[IncidentPlan] = field(default_factory=list)
    numbers: dict[str, ModelNumbers] = field(default_factory=dict)

    @property
    def drift_start(self) -> datetime:
        # The last third of the window: ten days of a thirty-day demo.
        return self.now - (self.now - self.start) / 3


_RELEASE_NOTES = (
    "Retrained on the latest data.",
    "Retrained; added two behavioural features.",
    "Hyper-parameter sweep; smaller trees.",
    "New architecture, distilled for latency.",
    "Retrained after a label backfill.",
    "Calibration fix; same features.",
)


def workday(t: datetime, rand: random.Random) -> datetime:
    """People register and promote models on weekdays, in office hours."""
    t = t.replace(hour=rand.randint(9, 16), minute=rand.randint(0, 59), second=0, microsecond=0)
    while t.weekday() >= 5:
        t += timedelta(days=1)
    return t


def incident_window(spec: IncidentSpec, *, now: datetime, start: datetime) -> tuple:
    anchor = now - (now - start) * spec.position
    begin = anchor.replace(hour=spec.hour, minute=spec.minute, second=0, microsecond=0)
    duration = timedelta(minutes=spec.minutes)
    while begin < start + timedelta(hours=1):
        begin += timedelta(days=1)
    while begin + duration > now - timedelta(minutes=5):
        begin -= timedelta(days=1)
    return begin, begin + duration


def version_new(
    spec: ModelSpec, number: int, registered_at: datetime, rand: random.Random, note: str
) -> VersionPlan:
    version = VersionPlan(
        model=spec,
        name=str(number),
        registered_at=registered_at,
        latency_factor=rand.uniform(0.85, 1.1),
        run_id=f"{rand.getrandbits(128):032x}",
        description=note,
    )
    # Drawn from their own generator so the history above is what it always was.
    run = random.Random(f"{version.run_id}:run")
    version.run_hours = run.uniform(0.5, 9)
    version.run_gap_hours = run.uniform(1, 60)
    return version


def history_plan(
    spec: ModelSpec,
    rand: random.Random,
    *,
    now: datetime,
    register_before: datetime,
    deploy_before: datetime,
) -> tuple[list[VersionPlan], list[DeploymentPlan]]:
    """Registrations every few weeks, each promoted to production after a realistic time
    to deploy (days to about two months) replacing the one before; some promotions were
    preceded by a shadow period. Versions that would land after `deploy_before` wait."""
    first = now - timedelta(days=spec.first_registered_days + rand.uniform(0, 20))
    registered = [workday(first, rand)]
    while len(registered) < spec.versions:
        nxt = workday(registered[-1] + timedelta(days=rand.uniform(18, 45)), rand)
        if nxt >= register_before:
            break
        registered.append(nxt)

    versions: list[VersionPlan] = []
    deployments: list[DeploymentPlan] = []
    champion: DeploymentPlan | None = None
    for number, registered_at in enumerate(registered, start=1):
        note = rand.choice(_RELEASE_NOTES) if number > 1 else "First model."
        version = version_new(spec, number, registered_at, rand, note)
        versions.append(version)
        days_to_deploy = min(62.0, max(3.0, rand.lognormvariate(math.log(22), 0.6)))
        start = workday(registered_at + timedelta(days=days_to_deploy), rand)
        if champion is None:
            # Even the newest models reach production well inside the event window.
            start = min(start, workday(now - timedelta(days=16), rand))
        else:
            start = max(start, workday(champion.start + timedelta(days=4), rand))
        if start >= deploy_before:
            version.description += " Not promoted."
            continue
        if champion is not None:
            if rand.random() < 0.35:
                shadow_from = max(registered_at + timedelta(days=1), start - timedelta(days=6))
                if shadow_from < start:
                    deployments.append(DeploymentPlan(version, SHADOW, 0.0, shadow_from, start))
            champion.end = start
        champion = DeploymentPlan(version, PRODUCTION, spec.share, start, None)
        deployments.append(champion)
    assert champion is not None, spec.name
    return versions, deployments


def shares_completed(deployments: list[DeploymentPlan]) -> list[DeploymentPlan]:
    """Make the shares of every endpoint add up to 1 at every moment, as the traffic is
    served: while some models of a multi-model endpoint are not deployed yet, the others
    take the whole of it in proportion to their shares. A deployment whose share changes
    midway is ended there and goes on as a split row (new rows are returned; the
    deployments given are shortened and rescaled in place)."""
    endpoints: dict[str, list[DeploymentPlan]] = {}
    for d in deployments:
        if d.role != SHADOW:
            endpoints.setdefault(d.version.model.endpoint, []).append(d)
    # Every deployment's stretches first, from the shares as planned; then the changes.
    stretches: dict[int, list[list]] = {}
    for serving in endpoints.values():
        moments = sorted({d.start for d in serving} | {d.end for d in serving if d.end})
        for d in serving:
            pieces: list[list] = []  # [share, start, end], merged where the share is equal
            for lo, hi in itertools.pairwise([*moments, None]):
                if lo < d.start or (d.end is not None and lo >= d.end):
                    continue
                total = sum(o.share for o in serving if o.active_at(lo))
                share = round(d.share / total, 4) if total else d.share
                if pieces and pieces[-1][0] == share:
                    pieces[-1][2] = hi
                else:
                    pieces.append([share, lo, hi])
            stretches[id(d)] = pieces
    added: list[DeploymentPlan] = []
    for serving in endpoints.values():
        for d in serving:
            (share, _, _), *rest = stretches[id(d)]
            d.share = share
            d.end = rest[0][1] if rest else d.end
            added += [DeploymentPlan(d.version, d.role, *piece, split=True) for piece in rest]
    return added


def plan_make(*, now: datetime, seed: int, days: int) -> Plan:
    rand = random.Random(seed)
    plan = Plan(now=now, start=now - timedelta(days=days), seed=seed)
    windows = {i.model: incident_window(i, now=now, start=plan.start) for i in INCIDENTS}
    # Challengers went live a few days ago (sooner in a short window).
    recent = min(timedelta(days=days) * 0.4, timedelta(days=4))
    rollback_names = {"bad": "", "good": ""}

    for spec in MODELS:
        register_before, deploy_before = now - timedelta(days=2), now
        if spec.now_role:
            register_before, deploy_before = now - timedelta(days=40), now - timedelta(days=8)
        if spec.rolled_back:
            t0 = windows[spec.name][0]
            register_before, deploy_before = t0 - timedelta(days=30), t0 - timedelta(days=3)
        versions, deployments = history_plan(
            spec, rand, now=now, register_before=register_before, deploy_before=deploy_before
        )
        champion = deployments[-1]
        number = len(versions) + 1

        if spec.now_role:
            registered = now - timedelta(days=rand.uniform(4.5, 14))
            challenger = version_new(
                spec, number, registered, rand, "Challenger retrained on the latest data."
            )
            versions.append(challenger)
            since = (now - recent * rand.uniform(0.6, 1.0)).replace(second=0, microsecond=0)
            if spec.now_role == CANARY:
                # A traffic split is a new deployment row: shares on an endpoint add up to 1.
                champion.end = since
                kept = spec.share * (1 - spec.canary_share)
                deployments += [
                    DeploymentPlan(champion.version, PRODUCTION, kept, since, None, split=True),
                    DeploymentPlan(challenger, CANARY, spec.share * spec.canary_share, since, None),
                ]
            else:
                deployments.append(DeploymentPlan(challenger, SHADOW, 0.0, since, None))
        if spec.rolled_back:
            t0, t1 = windows[spec.name]
            registered = t0 - timedelta(days=rand.uniform(8, 14))
            bad = version_new(spec, number, registered, rand, "Tokenizer upgrade. Rolled back.")
            versions.append(bad)
            champion.end = t0
            deployments += [
                DeploymentPlan(bad, PRODUCTION, spec.share, t0, t1),
                DeploymentPlan(
                    champion.version, PRODUCTION, spec.share, t1, None, kind="rolled_back"
                ),
            ]
            rollback_names = {"bad": bad.name, "good": champion.version.name}
        if spec.registry:
            # A polled registry's serving layer deploys at the poll that sees the alias move.
            minutes = registry_spec(spec.registry).poll_minutes
            # Every end is another deployment's start, so both move the same way.
            for d in deployments:
                d.start = poll_window(d.start, minutes)[1]
                d.end = poll_window(d.end, minutes)[1] if d.end is not None else None
        plan.versions += versions
        plan.deployments += deployments

        sigma = rand.uniform(0.3, 0.55)
        p95 = spec.sla[0] * (spec.p95_of_sla or rand.uniform(0.55, 0.8))
        plan.numbers[spec.name] = ModelNumbers(
            # /1.1: streaming latency rises by up to 15% at the daily peak.
            latency_median_ms=p95 / math.exp(1.645 * sigma) / 1.1,
            latency_sigma=sigma,
            error_rate=spec.sla[1] * rand.uniform(0.1, 0.35),
            timeout_ms=round(spec.sla[0] * 10, -1),
        )

    plan.deployments += shares_completed(plan.deployments)

    for spec in DATASETS:
        created = [(now - timedelta(days=rand.uniform(195, 235))).replace(microsecond=0)]
        while (nxt := created[-1] + timedelta(days=rand.uniform(14, 45))) < now:
            created.append(nxt)
        plan.dataset_versions[spec.name] = created

    for spec in INCIDENTS:
        begin, end = windows[spec.model]
        plan.incidents.append(
            IncidentPlan(
                spec,
                begin,
                end,
                spec.title.format(**rollback_names),
                spec.description.format(**rollback_names),
            )
        )
    return plan
