"""Deployment KPIs against independent pandas recomputations over the raw rows."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from ingestion.rollups import rollups_rebuild
from lifecycle.catalog.models import Deployment, Label, ModelVersion, ServingEvent
from lifecycle.catalog.windows import TimeRange
from lifecycle.deployment.kpis import (
    champion_challenger,
    delivery_report,
    lead_times,
    models_in_production,
    multi_model_endpoints,
    new_models_deployed,
    production_model_ids,
    time_to_deploy,
    time_to_deploy_by,
    traffic_split,
    version_milestones,
    versions_in_roles,
)
from lifecycle.deployment.models import ChangeKind, ChangeSource, LifecycleChange
from tests import factories
from tests.lifecycle.deployment.factories import change_make
from tests.shadow_copies import events_frame

pytestmark = pytest.mark.django_db
DAY = pd.Timedelta(days=1)


@pytest.fixture
def window(now):
    return TimeRange(now - timedelta(days=90), now, "90 days")


@pytest.fixture
def portfolio(now, fraud_scorer, recommender):
    """Two models with a history: releases, a quick replacement, a rollback, a shadow,
    a canary, a multi-model endpoint, polled and pushed changes, serving events."""
    d = lambda days, hours=0: now - timedelta(days=days, hours=hours)  # noqa: E731
    scoring = factories.endpoint_make("scoring")
    shared = factories.endpoint_make("shared")
    recs = factories.endpoint_make("recs")
    f1 = factories.version_make(fraud_scorer, "1", registered_at=d(80))
    f2 = factories.version_make(fraud_scorer, "2", registered_at=d(40))
    f3 = factories.version_make(fraud_scorer, "3", registered_at=d(10))
    r1 = factories.version_make(recommender, "1", registered_at=d(60))
    r2 = factories.version_make(recommender, "2", registered_at=d(20))
    factories.version_make(recommender, "3", registered_at=d(2))  # never deployed

    prod = "production"
    factories.deployment_make(f1, endpoint=scoring, role=prod, started_at=d(75), ended_at=d(35))
    f2_prod = factories.deployment_make(f2, endpoint=scoring, started_at=d(35), ended_at=d(30))
    factories.deployment_make(f1, endpoint=scoring, started_at=d(30), ended_at=d(8))
    f3_shadow = factories.deployment_make(
        f3,
        endpoint=scoring,
        role="shadow",
        traffic_share=Decimal("0"),
        started_at=d(9),
        ended_at=d(8),
    )
    f3_prod = factories.deployment_make(f3, endpoint=scoring, started_at=d(8))
    factories.deployment_make(f3, endpoint=shared, traffic_share=Decimal("0.5"), started_at=d(8))
    factories.deployment_make(r1, endpoint=shared, traffic_share=Decimal("0.5"), started_at=d(55))
    factories.deployment_make(r1, endpoint=recs, started_at=d(55))
    factories.deployment_make(
        r2, endpoint=recs, role="canary", traffic_share=Decimal("0.1"), started_at=d(15)
    )

    # f3's production deployment was seen by a poll: it happened in the six hours before.
    change_make(
        f3,
        ChangeKind.DEPLOYED,
        source=ChangeSource.POLL,
        happened_after=d(8, 6),
        happened_before=d(8),
        deployment=f3_prod,
        role=prod,
        endpoint=scoring,
    )
    change_make(f2, ChangeKind.PROMOTED, happened_before=d(36), role=prod)
    change_make(
        f3,
        ChangeKind.ALIAS_SET,
        source=ChangeSource.POLL,
        key="champion",
        role=prod,
        happened_after=d(9, 12),
        happened_before=d(8, 7),
    )
    change_make(r1, ChangeKind.PROMOTED, happened_before=d(57), role=prod)
    change_make(
        r2,
        ChangeKind.DEPLOYMENT_FAILED,
        happened_before=d(5),
        endpoint=recs,
        detail={"reason": "permissions"},
    )
    registered = change_make(f3, ChangeKind.REGISTERED, happened_before=d(10))
    registered.detail = {"run_ended_at": d(11).isoformat()}
    registered.save()

    rng = np.random.default_rng(7)
    events = []
    # Shadow copies of f3 before it went live (not production traffic) ...
    for i in range(20):
        features = {"amount": i}
        stamp = d(8, 20) + timedelta(minutes=i)
        events.append(
            factories.event_build(f3, timestamp=stamp, endpoint=scoring, event_id=f"s{i}")
        )
        events[-1].features, events[-1].prediction = features, i % 2
        champion = factories.event_build(
            f1,
            timestamp=stamp + timedelta(milliseconds=300),
            endpoint=scoring,
            latency_ms=float(rng.lognormal(3, 0.3)),
            event_id=f"c{i}",
        )
        champion.features, champion.prediction = features, (i % 2) if i < 15 else 1 - i % 2
        events.append(champion)
    # ... then its production traffic, and the canary's first requests.
    for i in range(30):
        events.append(
            factories.event_build(
                f3,
                timestamp=d(7, 23) + timedelta(minutes=i),
                endpoint=scoring,
                latency_ms=float(rng.lognormal(3, 0.5)),
            )
        )
    for i in range(10):
        events.append(
            factories.event_build(r2, timestamp=d(14) + timedelta(hours=i), endpoint=recs)
        )
    for i in range(30):
        events.append(
            factories.event_build(r1, timestamp=d(3) + timedelta(minutes=i), endpoint=shared)
        )
    # Deployment errors right after f2's rollout.
    for i in range(3):
        events.append(
            factories.event_build(
                f2,
                timestamp=f2_prod.started_at + timedelta(minutes=5 + i),
                endpoint=scoring,
                status="error",
                error_type="deployment",
                latency_ms=None,
            )
        )
    ServingEvent.objects.bulk_create(events)
    rollups_rebuild()  # deployment reads serving numbers from the rollups
    team = fraud_scorer.team
    Label.objects.bulk_create(
        [
            Label(event_id=f"{side}{i}", team=team, label=i % 2, timestamp=now, received_at=now)
            for side in ("c", "s")
            for i in range(10)
        ]
    )
    return {"f3_shadow": f3_shadow, "f2_prod": f2_prod}


def _raw_first_traffic() -> pd.Series:
    """Earliest serving event per version that is not a shadow copy."""
    deployments = pd.DataFrame(
        list(
            Deployment.objects.values(
                "model_version_id", "endpoint_id", "role", "started_at", "ended_at"
            )
        )
    )
    events = pd.DataFrame(
        list(ServingEvent.objects.values("model_version_id", "endpoint_id", "timestamp"))
    )
    is_copy = pd.Series(False, index=events.index)
    for s in deployments[deployments.role == "shadow"].itertuples():
        end = s.ended_at if pd.notna(s.ended_at) else pd.Timestamp.max.tz_localize("UTC")
        is_copy |= (
            (events.model_version_id == s.model_version_id)
            & (events.endpoint_id == s.endpoint_id)
            & (events.timestamp >= s.started_at)
            & (events.timestamp < end)
        )
    return events[~is_copy].groupby("model_version_id").timestamp.min()


def _raw_time_to_deploy(window: TimeRange) -> pd.DataFrame:
    """Per version: registered -> earlier of first production deployment and first
    non-shadow serving event, recomputed from the raw tables."""
    versions = pd.DataFrame(
        list(ModelVersion.objects.values("pk", "registered_at", "model__name", "model__team__name"))
    )
    deployments = pd.DataFrame(
        list(
            Deployment.objects.values(
                "pk", "model_version_id", "endpoint_id", "role", "started_at", "ended_at"
            )
        )
    )
    changes = pd.DataFrame(
        list(LifecycleChange.objects.values("deployment_id", "kind", "happened_after"))
    )
    traffic = _raw_first_traffic()
    prod = deployments[deployments.role == "production"].merge(
        changes[changes.kind.isin(["deployed", "rolled_back"])],
        left_on="pk",
        right_on="deployment_id",
        how="left",
    )
    prod["low"] = prod[["started_at", "happened_after"]].min(axis=1)
    first = prod.groupby("model_version_id").agg(first_at=("started_at", "min"), low=("low", "min"))
    rows = []
    for v in versions.itertuples():
        candidates = [t for t in (first.first_at.get(v.pk), traffic.get(v.pk)) if pd.notna(t)]
        lows = [t for t in (first.low.get(v.pk), traffic.get(v.pk)) if pd.notna(t)]
        if not candidates:
            continue
        at = min(candidates)
        if not (window.start <= at < window.end):
            continue
        rows.append(
            {
                "model": v.model__name,
                "team": v.model__team__name,
                "days": (at - v.registered_at) / DAY,
                "low": (min(lows) - v.registered_at) / DAY,
            }
        )
    return pd.DataFrame(rows)


@pytest.mark.recomputes("time_to_deploy_days_median", "time_to_deploy_days_mean")
def test_time_to_deploy_equals_a_recomputation_with_poll_bounds(portfolio, window):
    expected = _raw_time_to_deploy(window)
    median, mean = time_to_deploy(version_milestones(ModelVersion.objects.all()), time_range=window)
    assert median.value == pytest.approx(expected.days.median())
    assert mean.value == pytest.approx(expected.days.mean())
    assert median.low == pytest.approx(expected.low.median())
    assert mean.low == pytest.approx(expected["low"].mean())
    assert mean.low < mean.value  # f3 was deployed within a six-hour poll interval
    assert median.as_dict()["id"] == "time_to_deploy_days_median"
    assert set(median.as_dict()) >= {"id", "value", "unit", "phase", "low", "high"}


def test_time_to_deploy_per_team_equals_a_recomputation(portfolio, window):
    expected = _raw_time_to_deploy(window).groupby("team").days
    by_team = time_to_deploy_by(
        version_milestones(ModelVersion.objects.all()), by="team", time_range=window
    )
    for row in by_team.itertuples():
        assert row.versions == expected.count()[row.team]
        assert row.median_days == pytest.approx(expected.median()[row.team])
        assert row.mean_days == pytest.approx(expected.mean()[row.team])


def test_first_production_traffic_ignores_shadow_copies_and_counts_a_canary(portfolio, now):
    milestones = version_milestones(ModelVersion.objects.all()).set_index(["model", "version"])
    # f3's first events were shadow copies; its production traffic began later.
    assert milestones.loc[("fraud-scorer", "3"), "first_traffic_at"] == pd.Timestamp(
        now - timedelta(days=7, hours=23)
    )
    # r2 was never in production, but its canary served real users first.
    assert milestones.loc[("recommender", "2"), "first_traffic_at"] == pd.Timestamp(
        now - timedelta(days=14)
    )
    assert pd.isna(milestones.loc[("recommender", "3"), "first_traffic_at"])


@pytest.mark.recomputes(
    "lead_time_training_to_registered_days_median",
    "lead_time_registered_to_promoted_days_median",
    "lead_time_promoted_to_traffic_days_median",
)
def test_lead_time_steps_equal_a_recomputation(portfolio, window, now):
    training, promotion, traffic = lead_times(
        version_milestones(ModelVersion.objects.all()), time_range=window
    )
    # The run end a registration carries in the ledger, to the version's registration.
    registrations = pd.DataFrame(
        list(
            LifecycleChange.objects.filter(kind="registered").values(
                "detail", "model_version__registered_at"
            )
        )
    )
    registrations["run_end"] = pd.to_datetime(
        [(detail or {}).get("run_ended_at") for detail in registrations.detail], utc=True
    )
    known = registrations.dropna(subset=["run_end"])
    registered = pd.to_datetime(known.model_version__registered_at, utc=True)
    known = known[(registered >= window.start) & (registered < window.end)]
    assert training.value == pytest.approx(
        ((known.model_version__registered_at - known.run_end) / DAY).median()
    )
    # Only f3 has a known run end: trained 11 days ago, registered 10 days ago.
    assert training.value == pytest.approx(1.0)
    promotions = pd.DataFrame(
        list(
            LifecycleChange.objects.filter(
                role="production", kind__in=["promoted", "alias_set"]
            ).values(
                "model_version_id",
                "happened_before",
                "happened_after",
                "model_version__registered_at",
            )
        )
    )
    per_version = promotions.groupby("model_version_id").agg(
        first_at=("happened_before", "min"),
        low=("happened_after", "min"),
        reg=("model_version__registered_at", "first"),
    )
    assert promotion.value == pytest.approx(
        ((per_version.first_at - per_version.reg) / DAY).median()
    )
    assert promotion.low == pytest.approx(((per_version.low - per_version.reg) / DAY).median())
    # Promoted to first production traffic (shadow copies are not production traffic).
    traffic_raw = _raw_first_traffic()
    both = per_version.join(traffic_raw.rename("traffic"), how="inner")
    both = both[(both.traffic >= window.start) & (both.traffic < window.end)]
    assert traffic.value == pytest.approx(((both.traffic - both.first_at) / DAY).median())
    assert traffic.high == pytest.approx(((both.traffic - both.low) / DAY).median())


@pytest.mark.recomputes("production_deployments", "deployment_frequency_per_week", "rollbacks")
def test_delivery_kpis_equal_a_recomputation(portfolio, window, now):
    report = delivery_report(Deployment.objects.all(), time_range=window, failure_days=7)
    kpis = {k.definition.id: k.value for k in report.kpis}
    raw = pd.DataFrame(
        list(
            Deployment.objects.filter(role="production").values(
                "pk",
                "model_version_id",
                "model_version__model_id",
                "endpoint_id",
                "started_at",
                "ended_at",
                "model_version__registered_at",
            )
        )
    )
    started = raw[(raw.started_at >= window.start) & (raw.started_at < window.end)]
    assert kpis["production_deployments"] == len(started)
    assert kpis["deployment_frequency_per_week"] == pytest.approx(len(started) / (90 / 7))
    # Rollbacks: replacing a deployment (same model and endpoint, ending at this start) of a
    # version registered later.
    rollbacks = 0
    for row in started.itertuples():
        before = raw[
            (raw.model_version__model_id == row.model_version__model_id)
            & (raw.endpoint_id == row.endpoint_id)
            & (raw.ended_at == row.started_at)
        ]
        rollbacks += bool(
            (before.model_version__registered_at > row.model_version__registered_at).any()
        )
    assert kpis["rollbacks"] == rollbacks == 1
    # Failed: f2 (replaced within 7 days, deployment errors, not the promoted... it was);
    # f1's rollback lived 22 days; f3 on scoring and shared is not the last promoted? It
    # is (alias). The failed attempt of r2 counts as a change and a failure.
    failures = report.changes.set_index("deployment_id")["failed"]
    assert failures[portfolio["f2_prod"].pk]
    assert kpis["change_failure_rate"] == pytest.approx((failures.sum() + 1) / (len(started) + 1))
    assert (
        kpis["failed_deployments"]
        == int((report.changes.unpromoted | report.changes.deployment_errors).sum()) + 1
    )
    restored = report.changes[report.changes.failed & report.changes.ended_at.notna()]
    assert kpis["time_to_restore_hours_median"] == pytest.approx(
        ((restored.ended_at - restored.started_at) / pd.Timedelta(hours=1)).median()
    )


def test_a_replacement_later_than_the_horizon_is_not_a_failure(portfolio, window):
    report = delivery_report(Deployment.objects.all(), time_range=window, failure_days=3)
    failures = report.changes.set_index("deployment_id")
    # f2 lived five days: a failure within 7 days, but not within 3 (its deployment
    # errors still make it one).
    assert not failures.loc[portfolio["f2_prod"].pk, "replaced_within_horizon"]
    assert failures.loc[portfolio["f2_prod"].pk, "deployment_errors"]


@pytest.mark.recomputes(
    "models_in_production",
    "versions_in_shadow",
    "versions_in_canary",
    "new_models_deployed",
    "multi_model_endpoints",
)
def test_roles_models_and_endpoints_equal_a_recomputation(portfolio, window, now):
    deployments = Deployment.objects.all()
    raw = pd.DataFrame(
        list(
            deployments.values(
                "model_version_id",
                "model_version__model_id",
                "endpoint_id",
                "role",
                "started_at",
                "ended_at",
                "traffic_share",
            )
        )
    )
    active = raw[
        (raw.started_at < window.end) & (raw.ended_at.isna() | (raw.ended_at > window.start))
    ]
    assert (
        models_in_production(production_model_ids(deployments, time_range=window)).value
        == active[active.role == "production"].model_version__model_id.nunique()
        == 2
    )
    shadow, canary = versions_in_roles(deployments, time_range=window)
    assert shadow.value == active[active.role == "shadow"].model_version_id.nunique() == 1
    assert canary.value == active[active.role == "canary"].model_version_id.nunique() == 1
    firsts = raw[raw.role == "production"].groupby("model_version__model_id").started_at.min()
    assert (
        new_models_deployed(deployments, time_range=window).value
        == ((firsts >= window.start) & (firsts < window.end)).sum()
    )
    split = traffic_split(deployments, time_range=window)
    per_endpoint = active.groupby("endpoint_id").model_version__model_id.nunique()
    assert multi_model_endpoints(split).value == (per_endpoint > 1).sum() == 1
    events = events_frame()
    events = events[(events.timestamp >= window.start) & (events.timestamp < window.end)]
    requests, copies = events[~events.shadow], events[events.shadow]
    assert len(copies) == 20  # f3's shadow copies are not requests
    served = requests.groupby(["endpoint_id", "model_version_id"]).size()
    observed = served / requests.groupby("endpoint_id").size()
    copied = copies.groupby(["endpoint_id", "model_version_id"]).size()
    for row in split.itertuples():
        key = (row.endpoint_id, row.version_id)
        assert row.inferences == served.get(key, 0)
        assert row.shadow_copies == copied.get(key, 0)
        if key in observed:
            assert row.observed_share == pytest.approx(observed[key])
        else:
            assert row.observed_share in (None, 0.0)
    # Declared at the window's end: the shares of the deployments still serving then.
    live = active[active.ended_at.isna() | (active.ended_at >= window.end)]
    live = live.assign(share=live.traffic_share.astype(float).where(live.role != "shadow", 0.0))
    declared = live.groupby(["endpoint_id", "model_version_id"]).share.sum()
    for row in split.itertuples():
        assert row.declared_share == declared.get((row.endpoint_id, row.version_id))
    # The fixture's recs endpoint declares 100% production beside a 10% canary.
    adds_up = dict(zip(split.endpoint, split.declared_adds_up, strict=True))
    assert adds_up == {"scoring": True, "shared": True, "recs": False}
    for _, shares in split.groupby("endpoint_id"):
        if shares.inferences.sum():
            assert sum(shares.observed_share) == pytest.approx(1)


def test_champion_and_challenger_side_by_side_equal_a_recomputation(portfolio, now):
    window = TimeRange(now - timedelta(days=8, hours=21), now - timedelta(days=8), "shadow period")
    comparisons = champion_challenger(Deployment.objects.all(), time_range=window)
    (comparison,) = [c for c in comparisons if c.model == "fraud-scorer"]
    # The recommender's canary ran beside its production version then too.
    assert {(c.model, c.challenger.role) for c in comparisons} == {
        ("fraud-scorer", "shadow"),
        ("recommender", "canary"),
    }
    assert (comparison.model, comparison.endpoint) == ("fraud-scorer", "scoring")
    assert (comparison.champion.version, comparison.challenger.version) == ("1", "3")
    raw = pd.DataFrame(
        list(
            ServingEvent.objects.filter(
                timestamp__gte=window.start, timestamp__lt=window.end, endpoint__name="scoring"
            ).values(
                "event_id",
                "model_version__version",
                "latency_ms",
                "status",
                "prediction",
                "features",
            )
        )
    )
    champ = raw[raw.model_version__version == "1"]
    chall = raw[raw.model_version__version == "3"]
    assert comparison.champion.inferences == len(champ) == 20
    # From the merged latency histograms: within 1%, as monitoring's tests hold them.
    assert comparison.champion.latency_p95_ms == pytest.approx(
        np.percentile(champ.latency_ms, 95), rel=0.01
    )
    assert comparison.challenger.error_rate == pytest.approx((chall.status == "error").mean())
    # Pairs share features: 15 of 20 champion predictions agree with the challenger's.
    merged = chall.assign(key=chall.features.map(str)).merge(
        champ.assign(key=champ.features.map(str)), on="key"
    )
    assert comparison.paired == len(merged) == 20
    assert comparison.agreement == pytest.approx(
        (merged.prediction_x == merged.prediction_y).mean()
    )
    labels = {f"c{i}": i % 2 for i in range(10)}
    labelled = champ[champ.event_id.isin(labels)]
    assert comparison.champion.labelled == len(labelled) == 10
    assert comparison.champion.accuracy == pytest.approx(
        (labelled.prediction == labelled.event_id.map(labels)).mean()
    )


def test_scores_agree_on_their_decision_and_are_read_at_one_half_against_binary_labels():
    from lifecycle.deployment.kpis.endpoints import _prediction_correct, _same_prediction

    assert _same_prediction(0.80, 0.90) and not _same_prediction(0.45, 0.55)
    assert _same_prediction(101.0, 100.5) and not _same_prediction(100.0, 120.0)
    assert _same_prediction("fraud", "fraud") and not _same_prediction("fraud", "ok")
    assert _prediction_correct(0.7, 1) and _prediction_correct(0.2, 0)
    assert not _prediction_correct(0.7, 0)
    assert _prediction_correct(3, 3) and not _prediction_correct(1, 0)
