"""Uptime in minutes: a 50-minute crash loop in a week of traffic is 50 minutes down out of
the minutes with traffic, read from the rollups (hour bitmaps, the models' day and week
counts) and the raw partial edges, each against pandas over the raw events."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from django.http import QueryDict

from ingestion.rollups import rollups_mark, rollups_rebuild, rollups_refresh
from lifecycle.catalog.models import LatencyRollup, RollupGranularity, ServingEvent, UptimeRollup
from lifecycle.catalog.serving.scope import serving_scope
from lifecycle.monitoring.kpis import serving_breakdown, serving_summary
from tests import factories

pytestmark = pytest.mark.django_db
# Every failure class but the caller's own (a bad request) is the serving system's.
SYSTEM_CLASSES = {"dependency", "deployment", "hardware", "downtime", "timeout", "other"}
CRASH_MINUTES = 50


@pytest.fixture
def crash_loop(fraud_scorer, recommender, now):
    """A week of fraud-scorer traffic on two endpoints, about every other minute, a
    canary version beside the first for the last two days; bad requests now and then
    (the callers' fault); a crash loop three days ago in which every minute of 50 has
    downtime errors on both versions. The recommender serves quietly beside it."""
    rng = np.random.default_rng(50)
    v1, v2 = factories.version_make(fraud_scorer, "1"), factories.version_make(fraud_scorer, "2")
    other = factories.version_make(recommender, "1")
    scoring, batch = factories.endpoint_make("scoring"), factories.endpoint_make("batch")
    week = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=7)
    crash = (now - timedelta(days=3)).replace(hour=8, minute=15, second=0, microsecond=0)
    events = []
    for minute in range(7 * 24 * 60):
        moment = week + timedelta(minutes=minute, seconds=int(rng.integers(0, 60)))
        if moment >= now:
            break
        crashing = crash <= moment < crash + timedelta(minutes=CRASH_MINUTES)
        if not crashing and rng.random() < 0.5:
            continue
        version = v2 if moment > now - timedelta(days=2) and rng.random() < 0.3 else v1
        endpoint = scoring if rng.random() < 0.8 else batch
        failure = {}
        if crashing:
            failure = {"status": "error", "error_type": "downtime", "latency_ms": None}
        elif rng.random() < 0.05:
            failure = {"status": "error", "error_type": "bad_request", "latency_ms": 2.0}
        events.append(
            factories.event_build(version, timestamp=moment, endpoint=endpoint, **failure)
        )
        if crashing:  # the canary crashes too, in the same minute: one minute down
            events.append(factories.event_build(v2, timestamp=moment, endpoint=batch, **failure))
        if rng.random() < 0.2:
            events.append(factories.event_build(other, timestamp=moment))
    ServingEvent.objects.bulk_create(events)
    rollups_rebuild()


def _raw(lo, hi, **lookups) -> pd.DataFrame:
    rows = ServingEvent.objects.filter(timestamp__gte=lo, timestamp__lt=hi, **lookups)
    frame = pd.DataFrame(list(rows.values("model_id", "timestamp", "error_type")))
    frame["minute"] = frame.timestamp.dt.floor("min")
    frame["down"] = frame.error_type.isin(SYSTEM_CLASSES)
    return frame


def _minutes(raw: pd.DataFrame) -> pd.Series:
    """Per model and minute with traffic: whether any of its events failed on the
    system's side."""
    return raw.groupby(["model_id", "minute"]).down.any()


def _scope(query: str):
    scope, errors = serving_scope(QueryDict(query))
    assert not errors
    return scope


def _window(query: str, now):
    scope = _scope(query)
    return scope, scope.time_range.start, scope.time_range.end


@pytest.mark.recomputes("uptime", "request_availability")
def test_a_crash_loop_is_its_minutes_down_out_of_the_minutes_with_traffic(
    crash_loop, fraud_scorer, now
):
    scope, lo, hi = _window("window=7d&model=fraud-scorer", now)
    minutes = _minutes(_raw(lo, hi, model=fraud_scorer))
    summary = serving_summary(scope)
    assert minutes.sum() == CRASH_MINUTES
    assert summary.minutes.served == len(minutes) < 7 * 24 * 60
    assert summary.uptime == pytest.approx(1 - CRASH_MINUTES / len(minutes))
    # Beside it, request availability: requests, not minutes (the bad requests count up).
    raw = _raw(lo, hi, model=fraud_scorer)
    assert summary.request_availability == pytest.approx(1 - raw.down.sum() / len(raw))


@pytest.mark.parametrize(
    "query",
    [
        "window=24h",
        "window=7d",
        "window=30d",
        "window=1h",
        # Cut mid-hour and mid-minute at both ends: raw edges beside hour and day rows.
        "start={lo}&end={hi}",
    ],
)
def test_every_window_equals_a_recomputation_per_model(crash_loop, now, query):
    lo = (now - timedelta(days=4, hours=5, minutes=17, seconds=30)).isoformat()
    hi = (now - timedelta(hours=2, minutes=41, seconds=10)).isoformat()
    query = query.format(lo=lo, hi=hi).replace("+", "%2B")
    scope, start, end = _window(query, now)
    expected = _minutes(_raw(start, end)).groupby("model_id").agg(["size", "sum"])
    breakdown = serving_breakdown(scope)
    got = {m: (s.minutes.served, s.minutes.failed) for m, s in breakdown.by_model.items()}
    assert got == {m: (int(r["size"]), int(r["sum"])) for m, r in expected.iterrows()}
    total = breakdown.total.minutes
    assert (total.served, total.failed) == (expected["size"].sum(), expected["sum"].sum())


def test_a_scope_narrowed_to_a_version_reads_its_hours_not_the_models_days(crash_loop, now):
    scope, start, end = _window("window=30d&model=fraud-scorer&version=2", now)
    assert scope.uptime is None  # the model's day counts hold for all of its versions
    minutes = _minutes(_raw(start, end, model__name="fraud-scorer", model_version__version="2"))
    summary = serving_summary(scope)
    assert (summary.minutes.served, summary.minutes.failed) == (len(minutes), minutes.sum())
    assert summary.minutes.failed == CRASH_MINUTES


def test_the_models_days_and_weeks_count_each_minute_once_over_its_versions(
    crash_loop, fraud_scorer, now
):
    raw = _raw(now - timedelta(days=60), now, model=fraud_scorer)
    minutes = _minutes(raw).reset_index()
    for granularity, freq in ((RollupGranularity.DAY, "D"), (RollupGranularity.WEEK, "W-SUN")):
        rows = UptimeRollup.objects.filter(granularity=granularity, model=fraud_scorer)
        got = {r.bucket_start: (r.served_minutes, r.failed_minutes) for r in rows}
        period = minutes.minute.dt.tz_localize(None).dt.to_period(freq).dt.start_time
        per = minutes.groupby(period.dt.tz_localize("UTC")).down.agg(["size", "sum"])
        assert got == {
            t.to_pydatetime(): (int(r["size"]), int(r["sum"])) for t, r in per.iterrows()
        }


def test_a_rebuild_recomputes_the_minutes_and_a_late_event_marks_them_again(
    crash_loop, fraud_scorer, now
):
    scope = _scope("window=7d&model=fraud-scorer")
    before = serving_summary(scope).minutes
    LatencyRollup.objects.update(served_minutes=0, failed_minutes=0)
    UptimeRollup.objects.all().delete()
    assert serving_summary(scope).minutes != before
    rollups_rebuild()
    assert serving_summary(scope).minutes == before
    # A late timeout in a quiet minute five days ago: one more minute with traffic, down.
    version = fraud_scorer.versions.get(version="1")
    quiet = (now - timedelta(days=5)).replace(second=0, microsecond=0)
    while ServingEvent.objects.filter(
        model=fraud_scorer, timestamp__gte=quiet, timestamp__lt=quiet + timedelta(minutes=1)
    ).exists():
        quiet += timedelta(minutes=1)
    late = factories.event_build(
        version, timestamp=quiet, status="error", error_type="timeout", latency_ms=None
    )
    ServingEvent.objects.bulk_create([late])
    rollups_mark(start=quiet, end=quiet + timedelta(minutes=1))
    rollups_refresh()
    after = serving_summary(scope).minutes
    assert (after.served, after.failed) == (before.served + 1, before.failed + 1)
