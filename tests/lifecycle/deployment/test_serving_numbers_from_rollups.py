"""Deployment's serving numbers (traffic split, SLA breaches, rollout errors, incidents,
champion vs challenger) come from the serving rollups through the catalog's read model.

Each test writes events in whole hours, rolls them up, then deletes the raw events, as
retention would: a number read from the rollups still sees them, one recomputed from
the raw events would not."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ingestion.rollups import rollups_rebuild
from lifecycle.catalog.models import Deployment, ServingEvent
from lifecycle.catalog.windows import TimeRange
from lifecycle.deployment.kpis import champion_challenger, delivery_report, traffic_split
from lifecycle.deployment.timeline import model_incidents
from tests import factories

pytestmark = pytest.mark.django_db


def _hour(moment):
    return moment.replace(minute=0, second=0, microsecond=0)


def _roll_up_and_prune(events: list[ServingEvent]) -> None:
    ServingEvent.objects.bulk_create(events)
    rollups_rebuild()
    ServingEvent.objects.all().delete()


def test_it_splits_traffic_by_the_rolled_up_inferences(fraud_scorer, now):
    shared = factories.endpoint_make("shared")
    v1 = factories.version_make(fraud_scorer, "1")
    v2 = factories.version_make(fraud_scorer, "2")
    for version in (v1, v2):
        factories.deployment_make(
            version,
            endpoint=shared,
            traffic_share=Decimal("0.5"),
            started_at=now - timedelta(days=5),
        )
    hour = _hour(now) - timedelta(days=2)
    _roll_up_and_prune(
        [
            factories.event_build(v, endpoint=shared, timestamp=hour + timedelta(minutes=i))
            for v, n in ((v1, 30), (v2, 10))
            for i in range(n)
        ]
    )
    window = TimeRange(now - timedelta(days=4), now, "")
    split = traffic_split(Deployment.objects.all(), time_range=window)
    served = dict(zip(split["version"], split["inferences"], strict=True))
    assert served == {"1": 30, "2": 10}
    assert dict(zip(split["version"], split["observed_share"], strict=True)) == {
        "1": pytest.approx(0.75),
        "2": pytest.approx(0.25),
    }


def test_it_finds_an_sla_breach_and_rollout_errors_in_the_rollups(fraud_scorer, now):
    scoring = factories.endpoint_make("scoring")
    version = factories.version_make(fraud_scorer, "1", registered_at=now - timedelta(days=9))
    start = _hour(now) - timedelta(days=3)
    factories.deployment_make(version, endpoint=scoring, started_at=start)
    # 3 deployment errors in 20 inferences right after the start: 15% against a 1% SLA.
    _roll_up_and_prune(
        [
            factories.event_build(
                version,
                endpoint=scoring,
                timestamp=start + timedelta(minutes=5 + i),
                **(
                    {"status": "error", "error_type": "deployment", "latency_ms": None}
                    if i < 3
                    else {}
                ),
            )
            for i in range(20)
        ]
    )
    report = delivery_report(
        Deployment.objects.all(), time_range=TimeRange(start, now, ""), failure_days=7
    )
    (change,) = report.changes.itertuples(index=False)
    assert change.sla_breach
    assert change.deployment_errors


def test_it_finds_an_incident_hour_and_its_main_failure_class_in_the_rollups(fraud_scorer, now):
    version = factories.version_make(fraud_scorer, "1")
    hour = _hour(now) - timedelta(hours=5)
    _roll_up_and_prune(
        [
            factories.event_build(
                version,
                timestamp=hour + timedelta(minutes=i),
                status="error",
                error_type="timeout" if i < 4 else "dependency",
                latency_ms=None,
            )
            for i in range(6)
        ]
        + [factories.event_build(version, timestamp=hour + timedelta(minutes=30))]
    )
    (incident,) = model_incidents(
        model=fraud_scorer, time_range=TimeRange(now - timedelta(days=1), now, "")
    )
    assert (incident.after, incident.before) == (hour, hour + timedelta(hours=1))
    assert incident.detail == "6 of 7 inferences failed, mostly timeout"


@pytest.fixture
def two_comparisons(fraud_scorer, recommender, now):
    """A shadow beside fraud-scorer's production version and a canary beside the
    recommender's, each with traffic in one whole hour of the window."""
    hour = _hour(now) - timedelta(hours=6)
    events = []
    for model, name, role in ((fraud_scorer, "scoring", "shadow"), (recommender, "recs", "canary")):
        endpoint = factories.endpoint_make(name)
        champion = factories.version_make(model, "1")
        challenger = factories.version_make(model, "2")
        factories.deployment_make(champion, endpoint=endpoint, started_at=now - timedelta(days=2))
        factories.deployment_make(
            challenger,
            endpoint=endpoint,
            role=role,
            traffic_share=Decimal("0.1"),
            started_at=now - timedelta(days=1),
        )
        for version, n in ((champion, 12), (challenger, 4)):
            events += [
                factories.event_build(
                    version, endpoint=endpoint, timestamp=hour + timedelta(minutes=i)
                )
                for i in range(n)
            ]
    return events


def test_it_counts_each_side_of_a_comparison_from_the_rollups(two_comparisons, now):
    _roll_up_and_prune(two_comparisons)
    window = TimeRange(now - timedelta(days=1), now, "")
    comparisons = champion_challenger(Deployment.objects.all(), time_range=window)
    sides = {(c.model, c.champion.inferences, c.challenger.inferences) for c in comparisons}
    assert sides == {("fraud-scorer", 12, 4), ("recommender", 12, 4)}
    assert all(c.champion.latency_p95_ms == pytest.approx(10.0, rel=0.01) for c in comparisons)


def test_it_reads_each_sides_newest_events_and_every_sides_labelled_in_one(two_comparisons, now):
    ServingEvent.objects.bulk_create(two_comparisons)
    rollups_rebuild()
    window = TimeRange(now - timedelta(days=1), now, "")
    with CaptureQueriesContext(connection) as queries:
        comparisons = champion_challenger(Deployment.objects.all(), time_range=window)
    assert len(comparisons) == 2
    table = ServingEvent._meta.db_table
    event_reads = [
        q["sql"]
        for q in queries.captured_queries
        if f'"{table}"."prediction"' in q["sql"] or f"{table}.prediction" in q["sql"]
    ]
    # Per side (two versions on each of two endpoints) its pairing sample, newest first
    # and limited; the labelled events of every side in one query. How many events a
    # side has changes neither.
    samples = [sql for sql in event_reads if "LIMIT 500" in sql]
    assert len(samples) == 4 and all("DESC" in sql for sql in samples)
    assert len(event_reads) == 4 + 1, event_reads
