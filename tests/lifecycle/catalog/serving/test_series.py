"""Serving series: an hour's window is drawn per minute from the raw events, and every
series adds up to the window's events, recomputed with pandas."""

from __future__ import annotations

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


def test_a_day_keeps_hourly_buckets(last_hour):
    assert series_granularity(_scope("window=24h").time_range) == "hour"


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
