"""The training runs' FilterSet: a few near-identical runs, one short test per filter.

The window narrows runs only when one is asked for; a run's time is its recorded start,
or, when it was pushed without one, its first development metric."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lifecycle.catalog.models import LifecycleMetric, LifecyclePhase
from lifecycle.development.filtersets import TrainingRunFilterSet
from lifecycle.development.models import TrainingRun
from tests import factories

pytestmark = pytest.mark.django_db


def _metric(version, run_id: str, *, at) -> None:
    LifecycleMetric.objects.create(
        metric_id=f"{version.pk}-{run_id}-{at.isoformat()}",
        model=version.model,
        model_version=version,
        phase=LifecyclePhase.DEVELOPMENT,
        name="auc",
        value=0.8,
        timestamp=at,
        received_at=at,
        dimensions={"run_id": run_id},
    )


@pytest.fixture
def runs(fraud_scorer, recommender, now):
    f1 = factories.version_make(fraud_scorer, "1", registered_at=now - timedelta(days=60))
    f2 = factories.version_make(fraud_scorer, "2", registered_at=now - timedelta(days=10))
    r1 = factories.version_make(recommender, "1", registered_at=now - timedelta(days=60))
    TrainingRun.objects.create(model_version=f1, run_id="old", started_at=now - timedelta(20))
    TrainingRun.objects.create(model_version=f2, run_id="recent", started_at=now - timedelta(3))
    TrainingRun.objects.create(model_version=r1, run_id="rec", started_at=now - timedelta(hours=5))
    # Pushed without a start: its first metric (two days ago) says when it ran ...
    TrainingRun.objects.create(model_version=f2, run_id="metrics-only-time")
    _metric(f2, "metrics-only-time", at=now - timedelta(days=2))
    _metric(f2, "metrics-only-time", at=now - timedelta(hours=1))
    # ... another run's metric (same version) and another phase's say nothing of it.
    _metric(f2, "recent", at=now - timedelta(days=40))
    # With neither a start nor a metric, a run is outside every window.
    TrainingRun.objects.create(model_version=f2, run_id="timeless")


def _count(**params) -> int:
    return TrainingRunFilterSet(params, queryset=TrainingRun.objects.all()).qs.count()


def test_without_a_window_it_keeps_runs_of_any_age(runs):
    assert _count() == 5


def test_it_filters_by_model(runs):
    assert _count(model="fraud-scorer") == 4


def test_it_filters_by_version(runs):
    assert _count(model="fraud-scorer", version="2") == 3


def test_it_filters_by_team(runs):
    assert _count(team="growth") == 1


def test_it_filters_by_industry(runs):
    assert _count(industry="payments") == 4


def test_it_filters_by_serving_mode(runs):
    assert _count(serving_mode="batch") == 1


def test_it_filters_by_window_on_the_start_or_else_the_first_metric(runs):
    found = TrainingRunFilterSet({"window": "7d"}, queryset=TrainingRun.objects.all()).qs
    assert sorted(found.values_list("run_id", flat=True)) == [
        "metrics-only-time",
        "rec",
        "recent",
    ]


def test_a_wider_window_takes_older_runs(runs):
    assert _count(window="30d") == 4


def test_the_last_day_takes_only_the_runs_started_in_it(runs):
    assert _count(window="24h") == 1


def test_it_filters_by_a_custom_range(runs, now):
    start = (now - timedelta(days=25)).isoformat()
    end = (now - timedelta(days=10)).isoformat()
    assert _count(start=start, end=end) == 1


def test_a_window_combines_with_the_other_filters(runs):
    assert _count(window="7d", model="fraud-scorer") == 2


def test_it_refuses_an_unknown_window(runs):
    filters = TrainingRunFilterSet({"window": "2y"}, queryset=TrainingRun.objects.all())
    assert not filters.is_valid()
    assert "window" in filters.errors
