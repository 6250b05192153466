"""The development KPIs through the training-runs API, against pandas over the raw run
rows and development metrics."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from lifecycle.catalog.models import LifecycleMetric, LifecyclePhase
from lifecycle.development.models import TrainingRun
from tests import factories

pytestmark = pytest.mark.django_db
MAKE_UP = (
    "features_transformed_pct",
    "features_extracted_pct",
    "labeling_human_pct",
    "labeling_semi_supervised_pct",
    "labeling_third_party_pct",
)


@pytest.fixture
def runs(fraud_scorer, recommender, now):
    v1 = factories.version_make(fraud_scorer, "1", registered_at=now - timedelta(days=30))
    v2 = factories.version_make(fraud_scorer, "2", registered_at=now - timedelta(days=10))
    r1 = factories.version_make(recommender, "1", registered_at=now - timedelta(days=30))
    for version, run_id, total, transformed, extracted, human, semi, third in (
        (v1, "a", 40, 10, 4, 70.0, None, 30.0),
        (v1, "b", 25, 0, None, None, 100.0, None),
        (v2, "c", None, 3, 1, 50.0, 25.0, 25.0),
        (r1, "d", 8, 8, 2, None, None, None),
    ):
        TrainingRun.objects.create(
            model_version=version,
            run_id=run_id,
            started_at=now - timedelta(days=5),
            features_total=total,
            features_transformed=transformed,
            features_extracted=extracted,
            labeling_human_pct=human,
            labeling_semi_supervised_pct=semi,
            labeling_third_party_pct=third,
        )
    # Runs known only from their metrics, one of them logged twice.
    for version, run_id, at in ((v2, "e", 3), (v2, "e", 2), (r1, "f", 1)):
        LifecycleMetric.objects.create(
            metric_id=f"{run_id}-{at}",
            model=version.model,
            model_version=version,
            phase=LifecyclePhase.DEVELOPMENT,
            name="auc",
            value=0.8,
            timestamp=now - timedelta(days=at),
            received_at=now,
            dimensions={"run_id": run_id},
        )


def _raw_make_up() -> pd.DataFrame:
    frame = pd.DataFrame(
        list(
            TrainingRun.objects.values(
                "run_id",
                "features_total",
                "features_transformed",
                "features_extracted",
                "labeling_human_pct",
                "labeling_semi_supervised_pct",
                "labeling_third_party_pct",
            )
        )
    ).set_index("run_id")
    total = frame["features_total"].where(frame["features_total"] > 0)
    return pd.DataFrame(
        {
            "features_transformed_pct": 100 * frame["features_transformed"] / total,
            "features_extracted_pct": 100 * frame["features_extracted"] / total,
            "labeling_human_pct": frame["labeling_human_pct"],
            "labeling_semi_supervised_pct": frame["labeling_semi_supervised_pct"],
            "labeling_third_party_pct": frame["labeling_third_party_pct"],
        }
    )


@pytest.mark.recomputes(*MAKE_UP)
def test_each_runs_make_up_equals_a_recomputation(api_as, bob, runs):
    body = api_as(bob).get("/api/v1/training-runs/").json()
    expected = _raw_make_up()
    pushed = [r for r in body["runs"] if r["run_id"] in expected.index]
    assert len(pushed) == 4
    for run in pushed:
        kpis = {k["id"]: k["value"] for k in run["kpis"]}
        for kpi in MAKE_UP:
            value = expected.loc[run["run_id"], kpi]
            assert kpis[kpi] == (None if pd.isna(value) else pytest.approx(value)), (run, kpi)


@pytest.mark.recomputes("training_runs")
@pytest.mark.parametrize("model", ["fraud-scorer", "recommender"])
def test_the_run_count_equals_a_recomputation(client, bob, runs, model):
    client.force_login(bob)
    response = client.get(f"/development/models/{model}/")
    tile = response.content.decode().split("Training runs</div>")[1]
    shown = int(tile.split('tile-value">')[1].split("<")[0])
    pushed = pd.DataFrame(
        list(TrainingRun.objects.filter(model_version__model__name=model).values("run_id"))
    )
    metrics = pd.DataFrame(
        list(
            LifecycleMetric.objects.filter(phase="development", model__name=model).values(
                "dimensions"
            )
        )
    )
    from_metrics = metrics["dimensions"].map(lambda d: d["run_id"])
    assert shown == pd.concat([pushed["run_id"], from_metrics]).nunique()
