"""Shadow copies are not requests, in uptime's minutes and in a day's 5-minute charts
too: a shadow version timing out beside a healthy production version leaves the model's
minutes up, and the 5-minute series count requests only. Each against pandas over the
raw events, copies classified from the deployments (tests/shadow_copies.py)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.http import QueryDict

from ingestion.rollups import rollups_rebuild
from lifecycle.catalog.kpis import kpi_request_build, kpi_values
from lifecycle.catalog.models import (
    Deployment,
    LatencyRollup,
    RollupGranularity,
    ServingEvent,
    UptimeRollup,
)
from lifecycle.catalog.serving.scope import serving_scope
from lifecycle.catalog.serving.series import series_granularity
from lifecycle.monitoring.kpis import serving_summary
from tests import factories
from tests.serving_series_check import five_minute_series_assert
from tests.shadow_copies import EVENT_COLUMNS, events_frame

pytestmark = pytest.mark.django_db

SYSTEM_CLASSES = {"dependency", "deployment", "hardware", "downtime", "timeout", "other"}
COLUMNS = (*EVENT_COLUMNS, "status", "error_type", "latency_ms")
SHADOW_OUTAGE_MINUTES = 40


@pytest.fixture
def failing_shadow(fraud_scorer, now):
    """fraud-scorer v1 in production on "scoring" for a month; v2 beside it in shadow
    from 30 hours ago to 3 hours ago, answering a copy of about every request, then a
    canary on "batch". Requests about every other minute over 3 days, a few bad requests
    and now and then a v1 timeout; the shadow copies are slow, and time out in every
    minute of a 40-minute stretch 9 hours ago and now and then besides. Rolled up."""
    scoring, batch = factories.endpoint_make("scoring"), factories.endpoint_make("batch")
    v1, v2 = factories.version_make(fraud_scorer, "1"), factories.version_make(fraud_scorer, "2")
    shadow_from, shadow_to = now - timedelta(hours=30), now - timedelta(hours=3)
    factories.deployment_make(v1, endpoint=scoring, started_at=now - timedelta(days=30))
    factories.shadow_deployment_make(
        v2, endpoint=scoring, started_at=shadow_from, ended_at=shadow_to
    )
    factories.deployment_make(
        v2, endpoint=batch, traffic_share=Decimal("0.1"), started_at=shadow_to
    )
    rng = np.random.default_rng(31)
    outage = (now - timedelta(hours=9)).replace(second=0, microsecond=0)
    timeout = {"status": "error", "error_type": "timeout", "latency_ms": None}
    start = (now - timedelta(days=3)).replace(second=0, microsecond=0)
    events = []
    for minute in range(3 * 24 * 60):
        moment = start + timedelta(minutes=minute, seconds=int(rng.integers(0, 60)))
        if moment >= now:
            break
        in_outage = outage <= moment < outage + timedelta(minutes=SHADOW_OUTAGE_MINUTES)
        if not in_outage and rng.random() < 0.5:
            continue
        answer = {"latency_ms": float(rng.lognormal(3, 0.3))}
        if rng.random() < 0.03:
            answer = {"status": "error", "error_type": "bad_request", "latency_ms": 2.0}
        elif rng.random() < 0.01:
            answer = timeout
        events.append(factories.event_build(v1, timestamp=moment, endpoint=scoring, **answer))
        if shadow_from <= moment < shadow_to and rng.random() < 0.9:
            copy = {"latency_ms": float(rng.lognormal(6, 0.3))}  # slow: ~400 ms
            if in_outage or rng.random() < 0.05:
                copy = timeout
            events.append(factories.event_build(v2, timestamp=moment, endpoint=scoring, **copy))
        if moment >= shadow_to and rng.random() < 0.2:
            canary = timeout if rng.random() < 0.1 else answer
            events.append(factories.event_build(v2, timestamp=moment, endpoint=batch, **canary))
    ServingEvent.objects.bulk_create(events)
    rollups_rebuild()
    frame = events_frame(COLUMNS)
    frame["timestamp"] = pd.to_datetime(frame.timestamp, utc=True)
    frame["minute"] = frame.timestamp.dt.floor("min")
    frame["down"] = frame.error_type.isin(SYSTEM_CLASSES)
    return frame


def _scope(query: str, now, **kwargs):
    scope, errors = serving_scope(QueryDict(query), now=now, **kwargs)
    assert not errors
    return scope


def _in(frame: pd.DataFrame, scope) -> pd.DataFrame:
    lo, hi = pd.Timestamp(scope.time_range.start), pd.Timestamp(scope.time_range.end)
    return frame[(frame.timestamp >= lo) & (frame.timestamp < hi)]


def _model_minutes(frame: pd.DataFrame) -> tuple[int, int]:
    """Minutes with traffic, and of those the minutes with a system-class error."""
    minutes = frame.groupby("minute").down.any()
    return len(minutes), int(minutes.sum())


def _query(query: str) -> str:
    return query.replace("+", "%2B")


@pytest.mark.recomputes("uptime")
@pytest.mark.parametrize(
    "query",
    [
        "window=24h&model=fraud-scorer",
        "window=7d&model=fraud-scorer",  # the model's uptime days
        "window=7d&model=fraud-scorer&endpoint=scoring",  # hour bitmaps, not the days
        # Cut mid-hour and mid-minute: raw edges inside the shadow span.
        "model=fraud-scorer&start={lo}&end={hi}",
    ],
)
def test_a_shadow_versions_timeouts_do_not_take_the_models_minutes_down(failing_shadow, now, query):
    lo = (now - timedelta(hours=29, minutes=13, seconds=20)).isoformat()
    hi = (now - timedelta(hours=4, minutes=41, seconds=50)).isoformat()
    query = _query(query.format(lo=lo, hi=hi))
    scope = _scope(query, now)
    raw = _in(failing_shadow, scope)
    if "endpoint" in query:
        raw = raw[raw.endpoint_id == Deployment.objects.get(role="shadow").endpoint_id]
    requests = raw[~raw.shadow]
    served, failed = _model_minutes(requests)
    # Counted with the copies, the shadow outage would be down: the test can tell.
    assert _model_minutes(raw)[1] > failed + SHADOW_OUTAGE_MINUTES // 2
    summary = serving_summary(scope)
    assert (summary.minutes.served, summary.minutes.failed) == (served, failed)
    request = kpi_request_build(query=QueryDict(query), now=now)
    (uptime,) = kpi_values(["uptime"], request)
    assert uptime.value == pytest.approx(1 - failed / served)


def test_the_models_uptime_days_count_requests_only(failing_shadow, fraud_scorer):
    requests = failing_shadow[~failing_shadow.shadow]
    minutes = requests.groupby("minute").down.any().reset_index()
    days = minutes.groupby(minutes.minute.dt.floor("D")).down.agg(["size", "sum"])
    rows = UptimeRollup.objects.filter(granularity=RollupGranularity.DAY, model=fraud_scorer)
    assert {r.bucket_start: (r.served_minutes, r.failed_minutes) for r in rows} == {
        t.to_pydatetime(): (int(r["size"]), int(r["sum"])) for t, r in days.iterrows()
    }


@pytest.mark.recomputes("inferences", "errors", "latency_p95_ms")
def test_a_days_5_minute_series_leaves_the_shadow_copies_out(failing_shadow, now):
    assert LatencyRollup.objects.filter(
        granularity=RollupGranularity.FIVE_MINUTES, shadow=True
    ).exists()
    for shadow_copies in (False, True):
        scope = _scope("window=24h&model=fraud-scorer", now, shadow_copies=shadow_copies)
        assert series_granularity(scope.time_range) == RollupGranularity.FIVE_MINUTES
        raw = _in(failing_shadow, scope)
        assert raw.shadow.any() and not raw.shadow.all()
        five_minute_series_assert(scope, raw[raw.shadow == shadow_copies])
