"""The deployment page reads its per-deployment numbers in a fixed number of queries, and
the read it batches gives the numbers one scope at a time gives."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ingestion.rollups import rollups_rebuild
from lifecycle.catalog.models import Deployment, ModelVersion, ServingEvent
from lifecycle.catalog.serving.scope import serving_scope_where
from lifecycle.catalog.serving.sums import latency_percentiles, serving_histograms, serving_totals
from lifecycle.catalog.windows import TimeRange
from lifecycle.deployment.kpis import champion_challenger, delivery_report, endpoints
from lifecycle.deployment.kpis.milestones import first_traffic_by_version
from lifecycle.deployment.kpis.spans import Span, spans_serving
from tests import factories

pytestmark = pytest.mark.django_db


def _deployments_with_traffic(model, now, count: int) -> None:
    """`count` production deployments in a row on one endpoint, each serving a few
    events (some failing) for the hours after it started."""
    endpoint = factories.endpoint_make("scoring")
    events = []
    for i in range(count):
        version = factories.version_make(model, str(i + 1))
        started = now - timedelta(days=6) + timedelta(hours=20 * i, minutes=7)
        factories.deployment_make(
            version,
            endpoint=endpoint,
            started_at=started,
            ended_at=started + timedelta(hours=20) if i < count - 1 else None,
        )
        events += [
            factories.event_build(
                version,
                endpoint=endpoint,
                timestamp=started + timedelta(minutes=13 * j),
                status="error" if j % 4 == i % 4 else "ok",
                error_type="deployment" if j % 4 == i % 4 else "",
                latency_ms=10.0 + j,
            )
            for j in range(12)
        ]
    ServingEvent.objects.bulk_create(events)
    rollups_rebuild()


def _delivery_queries(now) -> int:
    window = TimeRange(now - timedelta(days=7), now, "")
    with CaptureQueriesContext(connection) as queries:
        delivery_report(Deployment.objects.all(), time_range=window, failure_days=1)
    return len(queries.captured_queries)


def test_it_checks_every_deployment_in_the_same_number_of_queries(fraud_scorer, now):
    _deployments_with_traffic(fraud_scorer, now, 2)
    two = _delivery_queries(now)
    Deployment.objects.all().delete()
    ModelVersion.objects.all().delete()
    _deployments_with_traffic(fraud_scorer, now, 6)
    assert _delivery_queries(now) == two


def test_a_batched_span_reads_what_its_own_scope_reads(fraud_scorer, now):
    _deployments_with_traffic(fraud_scorer, now, 3)
    versions = list(ModelVersion.objects.order_by("version"))
    endpoint = Deployment.objects.first().endpoint_id
    base = now - timedelta(days=6)
    # Overlapping spans of one version, on its endpoint and on any, cut mid-hour.
    cases = {
        "whole": (versions[0], endpoint, base, now),
        "inside": (versions[0], endpoint, base + timedelta(minutes=20), base + timedelta(hours=2)),
        "any endpoint": (
            versions[0],
            None,
            base + timedelta(minutes=20),
            base + timedelta(hours=2),
        ),
        "second": (versions[1], endpoint, base + timedelta(hours=20), now),
        "nothing": (versions[2], endpoint, base, base + timedelta(hours=1)),
    }
    spans = {
        key: Span(model_id=fraud_scorer.pk, version_id=v.pk, endpoint_id=e, start=start, end=end)
        for key, (v, e, start, end) in cases.items()
    }
    sums = ("inferences", "errors", "errors_deployment")
    batched = spans_serving(spans, sums=sums, histograms=True)
    for key, (version, endpoint_id, start, end) in cases.items():
        lookups = {"model_version_id": version.pk}
        if endpoint_id is not None:
            lookups["endpoint_id"] = endpoint_id
        scope = serving_scope_where(time_range=TimeRange(start, end, ""), **lookups)
        expected = serving_totals(scope, sums=sums).get((), [0, 0, 0])
        assert batched[key].sums == expected, key
        assert latency_percentiles(batched[key].histogram) == latency_percentiles(
            serving_histograms(scope).get(None)
        ), key


def test_it_finds_first_traffic_after_a_shadow_by_probing_the_stretches_outside_it(
    fraud_scorer, now
):
    endpoint = factories.endpoint_make("scoring")
    versions = [factories.version_make(fraud_scorer, str(i)) for i in range(3)]
    shadows = {}
    events = []
    for i, version in enumerate(versions):
        shadow_start = now - timedelta(days=5, hours=i)
        shadow_end = shadow_start + timedelta(days=1)
        shadows[version.pk] = [(endpoint.pk, shadow_start, shadow_end)]
        events += [
            factories.event_build(version, endpoint=endpoint, timestamp=shadow_start),
            factories.event_build(version, endpoint=endpoint, timestamp=shadow_end),
        ]
    # The third version also served on another endpoint, without a deployment there,
    # before its shadow ended: that is its first production traffic.
    other = factories.endpoint_make("batch")
    early = now - timedelta(days=4, hours=3)
    events.append(factories.event_build(versions[2], endpoint=other, timestamp=early))
    ServingEvent.objects.bulk_create(events)
    rollups_rebuild()
    ids = [v.pk for v in versions]
    with CaptureQueriesContext(connection) as queries:
        first = first_traffic_by_version(ids, shadows)
    # The shadow copies do not count: each version's first own traffic ends its shadow.
    expected = {pk: windows[0][2] for pk, windows in shadows.items()}
    expected[versions[2].pk] = early
    assert first == expected
    # One read of which endpoints each version served, then one-row index probes: the
    # stretch before the shadow (empty) and the one after it, per version and endpoint.
    probes = queries.captured_queries[1:]
    assert len(probes) == 2 * 3 + 1 and all("LIMIT 1" in q["sql"] for q in probes)


def test_it_pairs_only_the_newest_requests_of_a_sample(fraud_scorer, now, monkeypatch):
    monkeypatch.setattr(endpoints, "PAIRING_SAMPLE", 5, raising=False)
    endpoint = factories.endpoint_make("scoring")
    champion = factories.version_make(fraud_scorer, "1")
    challenger = factories.version_make(fraud_scorer, "2")
    factories.deployment_make(champion, endpoint=endpoint, started_at=now - timedelta(days=2))
    factories.deployment_make(
        challenger,
        endpoint=endpoint,
        role="shadow",
        traffic_share=Decimal("0"),
        started_at=now - timedelta(days=1),
    )
    events = []
    for i in range(12):
        at = now - timedelta(hours=3, minutes=-i)
        for version, prediction in ((champion, i % 2), (challenger, 1 if i < 3 else i % 2)):
            event = factories.event_build(version, endpoint=endpoint, timestamp=at)
            event.features = {"request": i}
            event.prediction = prediction
            events.append(event)
    ServingEvent.objects.bulk_create(events)
    rollups_rebuild()
    (comparison,) = champion_challenger(
        Deployment.objects.all(), time_range=TimeRange(now - timedelta(days=1), now, "")
    )
    # Each side's newest five requests (7 to 11) are read. The challenger's request 7 is
    # left out too: the champion's sample starts with it, so its nearest partner could
    # lie before the sample. The older requests, two of which disagree, are not read.
    assert (comparison.paired, comparison.agreement) == (4, 1.0)
    assert comparison.challenger.inferences == 12
