"""The change-failure rate recomputed from the raw tables alone (the ledger, deployments,
serving events), following its definition in words, and held against the KPI API.

The definition (`lifecycle/deployment/kpis/definitions.py`): failed changes over all
changes started in the window. A change is a production deployment or a failed deployment
attempt; it failed when the attempt failed, or the deployment was rolled back or replaced
within the failure horizon, or its error rate or p95 latency breached the model's SLA
within that horizon. A failed deployment (wrong version, deployment errors in the roll-out
minutes) is a failed change too, and a rollback restores service: it is not itself a
failed change for deploying an older version than the one last promoted.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from django.conf import settings

from ingestion.rollups import rollups_rebuild
from lifecycle.catalog.models import Deployment, RegisteredModel, ServingEvent
from lifecycle.deployment.models import ChangeKind, ChangeSource, LifecycleChange
from tests import factories
from tests.lifecycle.deployment.factories import change_make

pytestmark = pytest.mark.django_db
URL = "/api/v1/kpis/deployment/"
PROMOTING = ("alias_set", "stage_changed", "promoted")


@pytest.fixture
def ledger(now, fraud_scorer, recommender):
    """Two models' production history: releases that succeed, fail by SLA, get replaced
    quickly or only after the horizon, a rollback, failed attempts (one seen by a poll,
    then exactly by a webhook), a wrong version, deployment errors after a roll-out."""
    d = lambda days, hours=0: now - timedelta(days=days, hours=hours)  # noqa: E731
    scoring, recs = factories.endpoint_make("scoring"), factories.endpoint_make("recs")
    f = {v: factories.version_make(fraud_scorer, v, registered_at=d(r)) for v, r in
         (("1", 100), ("2", 50), ("3", 30), ("4", 12), ("5", 5))}  # fmt: skip
    r = {v: factories.version_make(recommender, v, registered_at=d(days)) for v, days in
         (("1", 80), ("2", 40), ("3", 36))}  # fmt: skip

    def deploy(version, endpoint, start, end=None, role="production"):
        return factories.deployment_make(
            version, endpoint=endpoint, role=role, started_at=start, ended_at=end
        )

    # fraud-scorer on scoring: every version promoted a day before it went out.
    for v, days in (("2", 46), ("3", 26), ("4", 15)):
        change_make(f[v], ChangeKind.PROMOTED, role="production", happened_before=d(days))
    deploy(f["1"], scoring, d(95), d(45))  # before every window asked for
    deploy(f["2"], scoring, d(45), d(43))  # replaced after two days
    rollback = deploy(f["1"], scoring, d(43), d(25))  # back to v1: a rollback, not promoted
    change_make(f["1"], ChangeKind.ROLLED_BACK, happened_before=d(43), deployment=rollback)
    deploy(f["3"], scoring, d(25), d(14))  # slow within its first two days: SLA breach
    deploy(f["4"], scoring, d(14), d(6))  # replaced after eight days
    deploy(f["5"], scoring, d(6))  # never promoted: the wrong version
    deploy(f["5"], recs, d(9), d(8), role="shadow")  # a shadow is not a change
    # A failed attempt seen by a poll, then exactly by a webhook: one change, not two.
    polled = change_make(
        f["5"],
        ChangeKind.DEPLOYMENT_FAILED,
        source=ChangeSource.POLL,
        happened_after=d(6, 6),
        happened_before=d(6, 1),
        endpoint=scoring,
    )
    change_make(
        f["5"],
        ChangeKind.DEPLOYMENT_FAILED,
        source=ChangeSource.WEBHOOK,
        happened_before=d(6, 3),
        endpoint=scoring,
        supersedes=polled,
    )

    # recommender on recs (no SLA): a quick replacement, then errors right after a roll-out.
    deploy(r["1"], recs, d(70), d(35))
    deploy(r["2"], recs, d(35), d(33))
    deploy(r["3"], recs, d(33))
    change_make(r["2"], ChangeKind.DEPLOYMENT_FAILED, happened_before=d(21), endpoint=recs)

    events = []
    for i in range(40):  # f3: fast a while after its start, slow in its first hours
        slow = i < 20
        events.append(
            factories.event_build(
                f["3"],
                endpoint=scoring,
                timestamp=d(25) + timedelta(hours=(1 if slow else 60) + i),
                latency_ms=400.0 if slow else 12.0,
            )
        )
    for i in range(30):  # f5 and f4 serve within their SLA
        for version, start in ((f["5"], d(6)), (f["4"], d(14))):
            events.append(
                factories.event_build(
                    version,
                    endpoint=scoring,
                    timestamp=start + timedelta(hours=2, minutes=i),
                    latency_ms=15.0,
                )
            )
    for i in range(5):  # r3: deployment errors ten minutes after its roll-out ...
        events.append(
            factories.event_build(
                r["3"],
                endpoint=recs,
                timestamp=d(33) + timedelta(minutes=10 + i),
                status="error",
                error_type="deployment",
                latency_ms=None,
            )
        )
    for i in range(5):  # ... and r1's only long after its own
        events.append(
            factories.event_build(
                r["1"],
                endpoint=recs,
                timestamp=d(60) + timedelta(minutes=i),
                status="error",
                error_type="deployment",
                latency_ms=None,
            )
        )
    ServingEvent.objects.bulk_create(events)
    rollups_rebuild()  # deployment reads its serving numbers from the rollups


def _frame(queryset, *fields: str) -> pd.DataFrame:
    return pd.DataFrame(list(queryset.values(*fields)), columns=list(fields))


def _recomputed(
    *, start, end, failure_days: int, model: str | None = None, team: str | None = None
) -> dict[str, float | int | None]:
    """The change-failure rate, failed deployments and time to restore, and the number of
    changes, from the raw tables."""
    horizon = pd.Timedelta(days=failure_days)
    rollout = pd.Timedelta(minutes=settings.KPIBOARD_ROLLOUT_ERROR_MINUTES)
    models = _frame(
        RegisteredModel.objects, "pk", "name", "team__name", "sla_error_rate", "sla_latency_p95_ms"
    )
    if model:
        models = models[models["name"] == model]
    if team:
        models = models[models["team__name"] == team]
    in_scope = set(models["pk"])
    sla = models.set_index("pk")

    all_production = _frame(
        Deployment.objects.filter(role="production"),
        "pk",
        "model_version_id",
        "model_version__model_id",
        "model_version__registered_at",
        "endpoint_id",
        "started_at",
        "ended_at",
    ).rename(columns={"model_version__model_id": "model_id", "model_version__registered_at": "reg"})
    production = all_production[all_production["model_id"].isin(in_scope)]
    started = production[(production["started_at"] >= start) & (production["started_at"] < end)]

    ledger = _frame(
        LifecycleChange.objects,
        "pk",
        "kind",
        "role",
        "model_id",
        "model_version_id",
        "deployment_id",
        "happened_after",
        "happened_before",
        "supersedes_id",
    )
    # An entry that a later, more exact entry supersedes is the same change: drop it.
    current = ledger[~ledger["pk"].isin(ledger["supersedes_id"].dropna())]
    attempts = current[
        (current["kind"] == "deployment_failed")
        & current["model_id"].isin(in_scope)
        & (current["happened_before"] >= start)
        & (current["happened_before"] < end)
    ]
    reported_rollbacks = set(current.loc[current["kind"] == "rolled_back", "deployment_id"])
    promotions = current[current["kind"].isin(PROMOTING) & (current["role"] == "production")]
    events = _frame(
        ServingEvent.objects,
        "model_id",
        "model_version_id",
        "endpoint_id",
        "timestamp",
        "status",
        "error_type",
        "latency_ms",
    )

    failed = failed_deployments = 0
    restore_hours = []
    for change in started.itertuples():
        replaced_at = change.ended_at
        # Rolled back: reported so, or replacing on its endpoint a version registered later.
        before = all_production[
            (all_production["model_id"] == change.model_id)
            & (all_production["endpoint_id"] == change.endpoint_id)
            & (all_production["ended_at"] == change.started_at)
        ]
        rollback = change.pk in reported_rollbacks or bool((before["reg"] > change.reg).any())
        replaced = pd.notna(replaced_at) and replaced_at - change.started_at <= horizon
        # Its own serving on its endpoint within the horizon (and while it was deployed).
        until = change.started_at + horizon
        if pd.notna(replaced_at):
            until = min(until, replaced_at)
        served = events[
            (events["model_version_id"] == change.model_version_id)
            & (events["endpoint_id"] == change.endpoint_id)
            & (events["timestamp"] >= change.started_at)
            & (events["timestamp"] < until)
        ]
        limits = sla.loc[change.model_id]
        ok_latency = served.loc[served["status"] == "ok", "latency_ms"].dropna()
        breach = len(served) > 0 and (
            (
                pd.notna(limits.sla_error_rate)
                and (served["status"] == "error").mean() > limits.sla_error_rate
            )
            or (
                pd.notna(limits.sla_latency_p95_ms)
                and len(ok_latency) > 0
                and ok_latency.quantile(0.95) > limits.sla_latency_p95_ms
            )
        )
        rollout_errors = events[
            (events["model_version_id"] == change.model_version_id)
            & (events["status"] == "error")
            & (events["error_type"] == "deployment")
            & (events["timestamp"] >= change.started_at)
            & (events["timestamp"] < change.started_at + rollout)
        ]
        promoted_before = promotions[
            (promotions["model_id"] == change.model_id)
            & (promotions["happened_after"] <= change.started_at)
        ].sort_values(["happened_after", "pk"])
        wrong_version = (
            len(promoted_before) > 0
            and promoted_before["model_version_id"].iloc[-1] != change.model_version_id
        )
        change_failed = bool(
            replaced or breach or len(rollout_errors) or (wrong_version and not rollback)
        )
        failed += change_failed
        # A failed deployment: the wrong version, or deployment errors in the roll-out.
        failed_deployments += bool(wrong_version or len(rollout_errors))
        if change_failed and pd.notna(replaced_at):
            restore_hours.append((replaced_at - change.started_at) / pd.Timedelta(hours=1))
    changes = len(started) + len(attempts)
    failed += len(attempts)
    return {
        "changes": changes,
        "change_failure_rate": failed / changes if changes else None,
        "failed_deployments": failed_deployments + len(attempts),
        "time_to_restore_hours_median": (
            float(pd.Series(restore_hours).median()) if restore_hours else None
        ),
    }


RECOMPUTED = ("change_failure_rate", "failed_deployments", "time_to_restore_hours_median")


def _answered(client, query: str) -> tuple[dict[str, float | int | None], dict]:
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 200, response.content
    body = response.json()
    return {k["id"]: k["value"] for k in body["kpis"] if k["id"] in RECOMPUTED}, body


def _same(answered: dict, expected: dict) -> bool:
    return all(
        answered[kpi] == (None if expected[kpi] is None else pytest.approx(expected[kpi]))
        for kpi in RECOMPUTED
    )


@pytest.mark.recomputes(*RECOMPUTED)
@pytest.mark.parametrize(
    ("query", "model", "team", "changes"),
    [
        ("window=90d", None, None, 10),
        ("window=30d", None, None, 5),
        ("window=7d", None, None, 2),
        ("window=90d&model=recommender", "recommender", None, 4),
        ("window=30d&team=risk", None, "risk", 4),
        ("window=90d&failure_days=1", None, None, 10),
        ("window=90d&failure_days=10", None, None, 10),
    ],
)
def test_the_change_failure_rate_equals_a_recomputation_from_the_ledger(
    api_as, bob, ledger, query, model, team, changes
):
    answered, body = _answered(api_as(bob), query)
    failure_days = int(dict(p.split("=") for p in query.split("&")).get("failure_days", 7))
    assert body["failure_days"] == failure_days
    expected = _recomputed(
        start=pd.Timestamp(body["start"]),
        end=pd.Timestamp(body["end"]),
        failure_days=failure_days,
        model=model,
        team=team,
    )
    assert expected["changes"] == changes  # the ledger holds what each case means to test
    assert _same(answered, expected), (answered, expected)


@pytest.mark.recomputes(*RECOMPUTED)
def test_the_change_failure_rate_of_a_custom_range_equals_a_recomputation(api_as, bob, ledger, now):
    start, end = now - timedelta(days=50), now - timedelta(days=20)
    query = f"start={start:%Y-%m-%dT%H:%M:%SZ}&end={end:%Y-%m-%dT%H:%M:%SZ}"
    answered, _ = _answered(api_as(bob), query)
    expected = _recomputed(start=pd.Timestamp(start), end=pd.Timestamp(end), failure_days=7)
    assert expected["changes"] == 6
    assert _same(answered, expected), (answered, expected)


def test_the_horizon_decides_whether_a_late_replacement_failed(api_as, bob, ledger):
    # fraud-scorer v4 was replaced after eight days; v3 breached its SLA within two.
    client = api_as(bob)
    seven = _answered(client, "window=30d&team=risk")[0]["change_failure_rate"]
    ten = _answered(client, "window=30d&team=risk&failure_days=10")[0]["change_failure_rate"]
    one = _answered(client, "window=30d&team=risk&failure_days=1")[0]["change_failure_rate"]
    # v3 (slow from its first hour), v5 (the wrong version), its failed attempt; v4 at 10.
    assert (one, seven, ten) == (pytest.approx(3 / 4), pytest.approx(3 / 4), pytest.approx(1))
