"""MLflow runs' metrics under ids unique per model: each model keeps its own, and a
repeated poll stores nothing twice (no MLflow server needed: the poll's diff is applied
as the sync applies it)."""

import pytest

from ingestion.registry.mlflow import MlflowRun, MlflowSnapshot
from ingestion.registry.sync import _Applier
from lifecycle.catalog.models import LifecycleMetric
from tests import factories
from tests.lifecycle.deployment.factories import registry_make

pytestmark = pytest.mark.django_db


def test_a_runs_metrics_are_stored_once_per_model(fraud_scorer, recommender, now):
    applier = _Applier(registry_make(), MlflowSnapshot())
    stamp = int(now.timestamp() * 1000)
    run = MlflowRun("r-1", now, [{"key": "auc", "value": 0.9, "timestamp": stamp, "step": 0}])
    for model in (fraud_scorer, recommender):
        version = factories.version_make(model, "1")
        applier.run_metrics_store(model, version, run)
        applier.run_metrics_store(model, version, run)  # the next poll sees the run again
    assert sorted(LifecycleMetric.objects.values_list("model__name", "name")) == [
        ("fraud-scorer", "auc"),
        ("recommender", "auc"),
    ]


def test_a_runs_nan_and_infinite_metrics_are_left_out(fraud_scorer, now):
    applier = _Applier(registry_make(), MlflowSnapshot())
    stamp = int(now.timestamp() * 1000)
    metrics = [
        {"key": key, "value": value, "timestamp": stamp, "step": 0}
        for key, value in (("loss", "NaN"), ("grad", float("inf")), ("auc", 0.91))
    ]
    version = factories.version_make(fraud_scorer, "1")
    applier.run_metrics_store(fraud_scorer, version, MlflowRun("r-1", now, metrics))
    assert list(LifecycleMetric.objects.values_list("name", flat=True)) == ["auc"]


def test_two_long_metric_keys_sharing_their_first_200_characters_stay_two(fraud_scorer, now):
    applier = _Applier(registry_make(), MlflowSnapshot())
    stamp = int(now.timestamp() * 1000)
    prefix = "k" * 200
    metrics = [
        {"key": prefix + suffix, "value": 0.5, "timestamp": stamp, "step": 0}
        for suffix in ("a", "b")
    ]
    version = factories.version_make(fraud_scorer, "1")
    applier.run_metrics_store(fraud_scorer, version, MlflowRun("r-1", now, metrics))
    applier.run_metrics_store(fraud_scorer, version, MlflowRun("r-1", now, metrics))
    assert LifecycleMetric.objects.count() == 2
