from datetime import UTC, datetime

import pytest

from tests import factories


@pytest.fixture
def fraud_v1(fraud_scorer):
    return factories.version_make(fraud_scorer, "1")


@pytest.fixture
def reco_v1(recommender):
    return factories.version_make(recommender, "1")


@pytest.fixture
def scoring(risk_team):
    return factories.endpoint_make("scoring", team=risk_team)


@pytest.fixture
def event():
    """event(i, **overrides) -> a valid serving event for fraud-scorer v1 as a dict."""

    def make(i: int = 1, **overrides):
        row = {
            "event_id": f"e-{i}",
            "timestamp": datetime(2026, 11, 20, 12, i % 60, tzinfo=UTC).isoformat(),
            "model": "fraud-scorer",
            "version": "1",
            "latency_ms": 10.0 + i,
            "status": "ok",
            "caller": "checkout",
        }
        row.update(overrides)
        return {k: v for k, v in row.items() if v is not None}

    return make
