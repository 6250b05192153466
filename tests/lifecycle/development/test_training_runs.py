"""Training runs: metrics from LifecycleMetric (phase development, run_id dimension) joined
with pushed run details, compared across versions."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from lifecycle.catalog.models import LifecycleMetric, LifecyclePhase, Role
from lifecycle.development.kpis import runs_by_version, training_runs
from lifecycle.development.models import TrainingRun
from tests import factories


def _metric(version, name: str, value: float, run_id: str | None, *, now, days_ago: float = 10):
    timestamp = now - timedelta(days=days_ago)
    return LifecycleMetric.objects.create(
        metric_id=f"{version.pk}-{name}-{run_id}-{days_ago}",
        model=version.model,
        model_version=version,
        phase=LifecyclePhase.DEVELOPMENT,
        name=name,
        value=value,
        timestamp=timestamp,
        received_at=timestamp,
        dimensions={"run_id": run_id} if run_id else {},
    )


@pytest.fixture
def runs(fraud_scorer, recommender, now):
    v1 = factories.version_make(fraud_scorer, "1", registered_at=now - timedelta(60))
    v2 = factories.version_make(fraud_scorer, "2", registered_at=now - timedelta(20))
    other = factories.version_make(recommender, "1", registered_at=now - timedelta(60))
    _metric(v1, "auc", 0.81, "r1", days_ago=59, now=now)
    _metric(v1, "accuracy", 0.90, "r1", days_ago=59, now=now)
    _metric(v2, "auc", 0.84, "r2", days_ago=19, now=now)
    _metric(v2, "auc", 0.86, "r2", days_ago=18, now=now)  # logged again later: the latest counts
    _metric(other, "mae", 3.2, "r9", now=now)
    # Not a training metric: another phase.
    LifecycleMetric.objects.create(
        metric_id="value-1",
        model=fraud_scorer,
        model_version=v2,
        phase=LifecyclePhase.VALUE,
        name="auc",
        value=99,
        timestamp=now,
        received_at=now,
    )
    return v1, v2


def test_runs_join_metrics_by_run_id_and_keep_the_latest_value(runs):
    rows = training_runs(
        metrics=LifecycleMetric.objects.filter(phase=LifecyclePhase.DEVELOPMENT),
        runs=TrainingRun.objects.all(),
    )
    found = {(r.model_version.model.name, r.run_id): r.metrics for r in rows}
    assert found == {
        ("fraud-scorer", "r1"): {"auc": 0.81, "accuracy": 0.90},
        ("fraud-scorer", "r2"): {"auc": 0.86},
        ("recommender", "r9"): {"mae": 3.2},
    }
    # Independent: the latest value per (run, name) with pandas.
    frame = pd.DataFrame(
        LifecycleMetric.objects.filter(phase="development").values(
            "dimensions", "name", "value", "timestamp"
        )
    )
    frame["run"] = frame["dimensions"].map(lambda d: d["run_id"])
    latest = frame.sort_values("timestamp").groupby(["run", "name"])["value"].last()
    assert latest[("r2", "auc")] == found[("fraud-scorer", "r2")]["auc"]


def test_the_development_tab_compares_versions(client, bob, runs):
    client.force_login(bob)
    response = client.get("/development/models/fraud-scorer/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-run="r1"' in html and 'data-run="r2"' in html
    assert 'data-run="r9"' not in html  # another model's run
    assert 'id="figure-metrics"' in html
    rows = training_runs(
        metrics=LifecycleMetric.objects.filter(model__name="fraud-scorer", phase="development"),
        runs=TrainingRun.objects.none(),
    )
    assert list(runs_by_version(rows)) == ["v1", "v2"]


def test_run_details_are_pushed_idempotently_and_join_the_lineage(token_client, risk_team, runs):
    v1, _ = runs
    dataset_version = factories.dataset_version_make(factories.dataset_make(team=risk_team), "7")
    client = token_client(risk_team, Role.DATA_TEAM)
    payload = {
        "model": "fraud-scorer",
        "version": "1",
        "run_id": "r1",
        "dataset": "transactions",
        "dataset_version": "7",
        "features_total": 40,
        "features_transformed": 10,
        "features_extracted": 4,
        "labeling": {"human": 70, "third_party": 30},
    }
    assert client.post("/api/v1/training-runs/", payload, format="json").status_code == 201
    assert client.post("/api/v1/training-runs/", payload, format="json").status_code == 200
    assert TrainingRun.objects.count() == 1
    assert list(v1.datasets.all()) == [dataset_version]
    body = client.get("/api/v1/training-runs/?model=fraud-scorer").json()
    run = next(r for r in body["runs"] if r["run_id"] == "r1")
    kpis = {k["id"]: k["value"] for k in run["kpis"]}
    assert kpis["features_transformed_pct"] == 25.0
    assert kpis["features_extracted_pct"] == 10.0
    assert kpis["labeling_human_pct"] == 70.0
    assert kpis["labeling_semi_supervised_pct"] is None  # unknown, not zero
    assert run["metrics"] == {"auc": 0.81, "accuracy": 0.90}
    assert run["dataset_version"] == "7"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"version": "9"}, "version"),
        ({"features_transformed": 50}, "features_transformed"),
        ({"labeling": {"crowd": 10}}, "labeling"),
        ({"dataset": "nope", "dataset_version": "1"}, "dataset_version"),
    ],
)
def test_a_bad_run_push_is_a_400_naming_the_field(token_client, risk_team, runs, change, field):
    payload = {
        "model": "fraud-scorer",
        "version": "1",
        "run_id": "r1",
        "features_total": 40,
        **change,
    }
    response = token_client(risk_team, Role.MLOPS).post(
        "/api/v1/training-runs/", payload, format="json"
    )
    assert response.status_code == 400 and field in response.json()
    assert not TrainingRun.objects.exists()


def test_an_executive_may_not_push_run_details(token_client, risk_team, runs):
    response = token_client(risk_team, Role.EXECUTIVE).post(
        "/api/v1/training-runs/",
        {"model": "fraud-scorer", "version": "1", "run_id": "x"},
        format="json",
    )
    assert response.status_code == 403


def test_picking_another_model_in_the_filter_bar_opens_its_tab(client, bob, runs):
    client.force_login(bob)
    response = client.get("/development/models/fraud-scorer/?model=recommender&window=30d")
    assert response.status_code == 302
    assert response["Location"] == "/development/models/recommender/?model=recommender&window=30d"
