"""ServingEventFilterSet: a few near-identical rows, one short test per filter."""

from datetime import timedelta

import pytest
from django.http import QueryDict

from lifecycle.catalog.filtersets import ServingEventFilterSet
from lifecycle.catalog.models import ServingEvent
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(fraud_scorer, recommender, now):
    fraud_v1 = factories.version_make(fraud_scorer, "1")
    fraud_v2 = factories.version_make(fraud_scorer, "2")
    reco_v1 = factories.version_make(recommender, "1")
    scoring = factories.endpoint_make("scoring")
    ServingEvent.objects.bulk_create(
        [
            factories.event_build(
                fraud_v1, timestamp=now - timedelta(minutes=30), endpoint=scoring
            ),
            factories.event_build(fraud_v2, timestamp=now - timedelta(hours=5)),
            factories.event_build(reco_v1, timestamp=now - timedelta(days=3)),
            factories.event_build(reco_v1, timestamp=now - timedelta(days=20)),
        ]
    )


def count(**params: str) -> int:
    query = QueryDict(mutable=True)
    query.update(params)
    filterset = ServingEventFilterSet(query, queryset=ServingEvent.objects.all())
    assert filterset.is_valid(), filterset.errors
    return filterset.qs.count()


def test_the_default_window_is_the_last_week(events):
    assert count() == 3


def test_model(events):
    assert count(model="fraud-scorer") == 2


def test_industry(events):
    assert count(industry="ecommerce", window="30d") == 2


def test_serving_mode(events):
    assert count(serving_mode="streaming") == 2


def test_team(events):
    assert count(team="growth", window="90d") == 2


def test_version(events):
    assert count(model="fraud-scorer", version="2") == 1


def test_endpoint(events):
    assert count(endpoint="scoring") == 1


@pytest.mark.parametrize(("window", "expected"), [("1h", 1), ("24h", 2), ("7d", 3), ("30d", 4)])
def test_window(events, window, expected):
    assert count(window=window) == expected


def test_custom_range(events, now):
    assert (
        count(
            start=(now - timedelta(days=4)).isoformat(), end=(now - timedelta(days=1)).isoformat()
        )
        == 1
    )


def test_an_end_before_the_start_is_an_error_on_end(events):
    query = QueryDict(mutable=True)
    # Refused before any clock is read: a fixed date may stay.
    query.update({"start": "2026-11-02T00:00:00Z", "end": "2026-11-01T00:00:00Z"})
    filterset = ServingEventFilterSet(query, queryset=ServingEvent.objects.all())
    assert not filterset.is_valid()
    assert "end" in filterset.errors


def test_an_unknown_window_is_an_error_on_window(events):
    filterset = ServingEventFilterSet(QueryDict("window=2y"), queryset=ServingEvent.objects.all())
    assert not filterset.is_valid()
    assert "window" in filterset.errors
