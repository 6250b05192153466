"""The serving rollups' FilterSet: a few near-identical rollup rows, one short test per
filter. Each event is in an hour of its own, so each is one hour row."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ingestion.rollups import rollups_rebuild
from lifecycle.catalog.models import RollupGranularity, ServingEvent, ServingRollup
from lifecycle.catalog.serving.filtersets import ServingRollupFilterSet
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def rollups(fraud_scorer, recommender, now):
    f1 = factories.version_make(fraud_scorer, "1")
    f2 = factories.version_make(fraud_scorer, "2")
    r1 = factories.version_make(recommender, "1")
    scoring, shared = factories.endpoint_make("scoring"), factories.endpoint_make("shared")
    placed = [
        (f1, scoring),
        (f1, scoring),
        (f2, scoring),
        (f2, shared),
        (r1, factories.endpoint_make("recs")),
    ]
    ServingEvent.objects.bulk_create(
        factories.event_build(version, endpoint=endpoint, timestamp=now - timedelta(hours=2 + i))
        for i, (version, endpoint) in enumerate(placed)
    )
    rollups_rebuild()


def _count(**params) -> int:
    hours = ServingRollup.objects.filter(granularity=RollupGranularity.HOUR)
    return ServingRollupFilterSet(params, queryset=hours).qs.count()


def test_without_filters_it_keeps_every_row(rollups):
    assert _count() == 5


def test_it_filters_by_model(rollups):
    assert _count(model="fraud-scorer") == 4


def test_it_filters_by_version(rollups):
    assert _count(model="fraud-scorer", version="2") == 2


def test_it_filters_by_endpoint(rollups):
    assert _count(endpoint="shared") == 1


def test_it_filters_by_team(rollups):
    assert _count(team="growth") == 1


def test_it_filters_by_industry(rollups):
    assert _count(industry="payments") == 4


def test_it_filters_by_serving_mode(rollups):
    assert _count(serving_mode="batch") == 1


def test_it_leaves_the_window_to_the_kpi_code(rollups):
    # The KPI code cuts the window into weeks, days and hours itself.
    assert _count(window="1h") == 5


def test_it_refuses_an_unknown_window(rollups):
    filters = ServingRollupFilterSet({"window": "2y"}, queryset=ServingRollup.objects.all())
    assert not filters.is_valid()
    assert "window" in filters.errors
