from datetime import timedelta

import pytest

from tests import factories


@pytest.fixture
def fraud_v1(fraud_scorer, now):
    return factories.version_make(fraud_scorer, "1", registered_at=now - timedelta(days=60))


@pytest.fixture
def reco_v1(recommender, now):
    return factories.version_make(recommender, "1", registered_at=now - timedelta(days=60))


@pytest.fixture
def scoring(risk_team):
    return factories.endpoint_make("scoring", team=risk_team)


@pytest.fixture
def event_hour(now):
    """The hour before `now`'s: every event of `event` falls inside it."""
    return now.replace(minute=0) - timedelta(hours=1)


@pytest.fixture
def event(event_hour):
    """event(i, **overrides) -> a valid serving event for fraud-scorer v1 as a dict."""

    def make(i: int = 1, **overrides):
        row = {
            "event_id": f"e-{i}",
            "timestamp": (event_hour + timedelta(minutes=i % 60)).isoformat(),
            "model": "fraud-scorer",
            "version": "1",
            "latency_ms": 10.0 + i,
            "status": "ok",
            "caller": "checkout",
        }
        row.update(overrides)
        return {k: v for k, v in row.items() if v is not None}

    return make
