"""Serving series: an hour's window is drawn per minute from the raw events, and every
series adds up to the window's events, recomputed with pandas."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from django.http import QueryDict
from django.urls import reverse

from ingestion.rollups import rollups_rebuild
from lifecycle.catalog.models import ServingEvent
from lifecycle.catalog.serving.scope import serving_scope
from lifecycle.catalog.serving.series import latency_series, series_granularity, serving_series
from tests import factories
from tests.serving_series_check import five_minute_series_assert

pytestmark = pytest.mark.django_db


@pytest.fixture
def last_hour(fraud_scorer, now):
    """120 events over the last 80 minutes (so the hour's window cuts them), a tenth
    failing; rolled up, as ingestion keeps them."""
    version = factories.version_make(fraud_scorer)
    rng = np.random.default_rng(5)
    failed = {"status": "error", "error_type": "timeout", "latency_ms": None}
    events = [
        factories.event_build(
            version,
            timestamp=now - timedelta(seconds=int(s)),
            **(failed if i % 10 == 0 else {"latency_ms": float(rng.lognormal(3, 0.4))}),
        )
        for i, s in enumerate(np.sort(rng.uniform(5, 80 * 60, 120)))
    ]
    ServingEvent.objects.bulk_create(events)
    rollups_rebuild()
    return events


def _scope(query: str):
    scope, errors = serving_scope(QueryDict(query))
    assert not errors
    return scope


def test_an_hours_window_is_drawn_per_minute_and_equals_a_recomputation(last_hour):
    scope = _scope("window=1h")
    assert series_granularity(scope.time_range) == "minute"
    series = serving_series(scope)
    raw = pd.DataFrame(
        [
            (e.timestamp, e.status)
            for e in last_hour
            if scope.time_range.start <= e.timestamp < scope.time_range.end
        ],
        columns=["timestamp", "status"],
    )
    raw["bucket"] = pd.to_datetime(raw.timestamp, utc=True).dt.floor("min")
    expected = raw.groupby("bucket").agg(
        inferences=("status", "size"), errors=("status", lambda s: (s == "error").sum())
    )
    # Every minute of the window, a minute without events as zeros.
    minutes = pd.date_range(
        pd.Timestamp(scope.time_range.start).floor("min"),
        pd.Timestamp(scope.time_range.end),
        freq="min",
        inclusive="left",
    )
    expected = expected.reindex(minutes, fill_value=0)
    got = series.set_index("bucket")[["inferences", "errors"]]
    assert len(got) == len(minutes) >= 60
    assert got.to_dict() == expected.astype(np.int64).to_dict()
    latency = latency_series(scope)
    assert set(latency.bucket) <= set(got.index)


@pytest.fixture
def last_day(fraud_scorer, now):
    """1,500 events over the last 30 hours (the day's window cuts them) on two versions,
    a tenth failing, with a 20-minute outage 9 hours ago; rolled up."""
    versions = [
        factories.version_make(fraud_scorer, "1"),
        factories.version_make(fraud_scorer, "2"),
    ]
    rng = np.random.default_rng(24)
    outage = now - timedelta(hours=9)
    events = []
    for i, s in enumerate(np.sort(rng.uniform(5, 30 * 3600, 1500))):
        moment = now - timedelta(seconds=float(s))
        failed = i % 10 == 0 or outage <= moment < outage + timedelta(minutes=20)
        events.append(
            factories.event_build(
                versions[i % 2],
                timestamp=moment,
                **(
                    {"status": "error", "error_type": "downtime", "latency_ms": None}
                    if failed
                    else {"latency_ms": float(rng.lognormal(3, 0.4))}
                ),
            )
        )
    ServingEvent.objects.bulk_create(events)
    rollups_rebuild()
    return pd.DataFrame(
        [(e.timestamp, e.status, e.latency_ms) for e in events],
        columns=["timestamp", "status", "latency_ms"],
    )


def test_a_days_window_is_drawn_per_5_minutes_from_the_rollups(last_day, now):
    scope = _scope("window=24h")
    assert series_granularity(scope.time_range) == "5min"
    # The raw events the window's rollups stand for are gone: what is drawn was rolled up.
    ServingEvent.objects.filter(timestamp__lt=now - timedelta(minutes=10)).delete()
    # The outage's buckets, in which nothing succeeded, have no latency.
    five_minute_series_assert(scope, last_day)


def test_a_day_older_than_the_5_minute_rollups_is_drawn_by_hour(last_day, now, settings):
    settings.KPIBOARD_FIVE_MINUTE_ROLLUP_DAYS = 2
    start, end = (now - timedelta(hours=h) for h in (50, 6))
    query = f"start={start.isoformat()}&end={end.isoformat()}".replace("+", "%2B")
    assert series_granularity(_scope(query).time_range) == "hour"
    assert series_granularity(_scope("window=24h").time_range) == "5min"
    assert series_granularity(_scope("window=7d").time_range) == "hour"


def test_a_day_on_model_health_is_drawn_per_5_minutes(last_day, client, bob):
    client.force_login(bob)
    response = client.get(
        reverse("monitoring:model-health", args=["fraud-scorer"]), {"window": "24h"}
    )
    figure = json.loads(response.context["charts"]["errors"])
    xs = sorted({pd.Timestamp(x) for trace in figure["data"] for x in trace["x"]})
    # The 20-minute outage is four 5-minute bars, not one hourly lump.
    steps = {b - a for a, b in itertools.pairwise(xs)}
    assert min(steps) == pd.Timedelta(minutes=5)


def test_the_model_health_charts_of_an_hour_draw_inside_its_axis(last_hour, client, bob):
    client.force_login(bob)
    response = client.get(
        reverse("monitoring:model-health", args=["fraud-scorer"]), {"window": "1h"}
    )
    assert response.status_code == 200
    figure = json.loads(response.context["charts"]["throughput"])
    low, high = (pd.Timestamp(x) for x in figure["layout"]["xaxis"]["range"])
    xs = [pd.Timestamp(x) for trace in figure["data"] for x in trace["x"]]
    assert len(xs) > 30, "an hour of traffic drawn as more than one point"
    assert all(low.tz_localize(None) <= x.tz_localize(None) <= high.tz_localize(None) for x in xs)
