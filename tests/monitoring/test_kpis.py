"""Serving KPIs against an independent pandas recomputation over the raw events."""

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone

from lifecycle.catalog.models import ServingEvent
from lifecycle.catalog.windows import TimeRange
from lifecycle.monitoring.kpis import serving_series, serving_summary, serving_summary_by
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def mixed_events(fraud_scorer, recommender):
    """300 events over two models: lognormal latencies, some errors (some with latency)."""
    rng = np.random.default_rng(3)
    now = timezone.now()
    versions = [factories.version_make(fraud_scorer), factories.version_make(recommender)]
    events = []
    for i in range(300):
        version = versions[i % 2]
        failed = rng.random() < 0.1
        events.append(
            factories.event_build(
                version,
                timestamp=now - timedelta(minutes=int(rng.integers(1, 60 * 24 * 6))),
                latency_ms=float(rng.lognormal(3, 0.6)) if not failed or i % 3 else None,
                status="error" if failed else "ok",
                error_type="timeout" if failed else "",
            )
        )
    ServingEvent.objects.bulk_create(events)
    return ServingEvent.objects.all()


def _raw() -> pd.DataFrame:
    return pd.DataFrame(list(ServingEvent.objects.values("model_id", "status", "latency_ms")))


def test_the_summary_equals_a_recomputation(mixed_events):
    raw = _raw()
    summary = serving_summary(mixed_events)
    ok = raw[raw.status == "ok"].latency_ms
    assert summary.inferences == len(raw)
    assert summary.errors == (raw.status == "error").sum()
    assert summary.error_rate == pytest.approx((raw.status == "error").mean())
    for name, q in (("p50", 50), ("p95", 95), ("p99", 99)):
        assert summary.latency_ms[name] == pytest.approx(np.percentile(ok, q))


def test_the_summary_per_model_equals_a_recomputation(mixed_events):
    raw = _raw()
    for model_id, summary in serving_summary_by(mixed_events, group_by="model").items():
        part = raw[raw.model_id == model_id]
        assert summary.inferences == len(part)
        assert summary.errors == (part.status == "error").sum()
        ok = part[part.status == "ok"].latency_ms
        assert summary.latency_ms["p95"] == pytest.approx(np.percentile(ok, 95))


def test_failed_events_do_not_count_towards_latency(fraud_scorer):
    version = factories.version_make(fraud_scorer)
    ServingEvent.objects.bulk_create(
        [
            factories.event_build(version, latency_ms=10.0),
            factories.event_build(version, latency_ms=5000.0, status="error", error_type="timeout"),
        ]
    )
    summary = serving_summary(ServingEvent.objects.all())
    assert summary.latency_ms["p99"] == 10.0
    assert summary.error_rate == 0.5


def test_no_events_give_no_rates(db):
    summary = serving_summary(ServingEvent.objects.all())
    assert summary.inferences == 0
    assert summary.error_rate is None
    assert summary.latency_ms == {"p50": None, "p95": None, "p99": None}


def test_throughput_divides_by_the_window(fraud_scorer):
    version = factories.version_make(fraud_scorer)
    ServingEvent.objects.bulk_create([factories.event_build(version) for _ in range(48)])
    now = timezone.now()
    kpis = {
        k.definition.id: k.value
        for k in serving_summary(ServingEvent.objects.all()).kpis(
            TimeRange(now - timedelta(days=2), now, "2 days")
        )
    }
    assert kpis["throughput_per_day"] == pytest.approx(24)
    assert kpis["throughput_per_hour"] == pytest.approx(1)
    assert kpis["throughput_per_minute"] == pytest.approx(1 / 60)


def test_the_series_buckets_by_hour_and_sums_to_the_total(mixed_events):
    now = timezone.now()
    time_range = TimeRange(now - timedelta(days=7), now, "week")
    series = serving_series(mixed_events, time_range=time_range)
    assert series.inferences.sum() == mixed_events.count()
    assert series.errors.sum() == mixed_events.filter(status="error").count()
    buckets = pd.to_datetime(series.bucket)
    assert (buckets.dt.minute == 0).all() and buckets.is_monotonic_increasing
