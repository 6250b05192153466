"""Training runs of the demo versions, as a training pipeline reports them: the run's
metrics through `metrics_ingest` (the service behind `POST /api/v1/metrics/`, phase
"development", dimensions {"run_id": ...}) and its make-up (dataset version, features,
labeling mix) through the training-runs API's serializer and `training_run_record`."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from demo.plan import Plan, VersionPlan
from demo.rows import CatalogRows
from demo.specs import (
    BINARY,
    GENERATIVE,
    MODEL_TASKS,
    MULTICLASS,
    RANKING,
    REGRESSION,
)
from ingestion.labels import metrics_ingest
from lifecycle.catalog.models import DatasetVersion, LifecyclePhase
from lifecycle.development.api import TrainingRunSerializer, training_run_record

# Typical size of the error of the regression models, in their own unit.
_MAE_SCALE = {
    "price-elasticity": 0.12,  # elasticity
    "send-time-optimiser": 1.6,  # hours
    "affordability-check": 180.0,  # GBP a month
    "credit-limit-optimiser": 420.0,  # GBP
    "ticket-backlog-forecaster": 35.0,  # tickets a day
}
# Models that extract features from text or images (embeddings, tokens).
_UNSTRUCTURED = {
    "homepage-recommender",
    "similar-items",
    "search-reranker",
    "subject-line-ranker",
    "ticket-router",
    "sentiment-classifier",
    "reply-suggester",
}
# Who labels each team's training data: human, semi-supervised and third-party shares.
_LABELING = {
    "fraud-risk": ((55, 70), (10, 20)),  # investigators; a vendor consortium's fraud flags
    "recsys": ((3, 10), (0, 0)),  # clicks and purchases: implicit, semi-supervised
    "search-relevance": ((10, 20), (0, 0)),  # raters on top of click models
    "lifecycle-marketing": ((0, 5), (0, 0)),
    "credit-decisioning": ((40, 60), (30, 45)),  # underwriters; bureau outcomes
    "support-automation": ((70, 90), (0, 5)),  # agents' own tags
}


@dataclass(frozen=True)
class TrainingSummary:
    runs: int
    metrics: int


def _metrics(task: str, model: str, q: float) -> dict[str, float]:
    """Offline metrics for a run of skill q (0..1); better runs score better."""
    if task == BINARY:
        values = {
            "auc": 0.78 + 0.17 * q,
            "accuracy": 0.9 + 0.08 * q,
            "precision": 0.55 + 0.3 * q,
            "recall": 0.5 + 0.3 * q,
        }
    elif task == MULTICLASS:
        values = {"accuracy": 0.72 + 0.2 * q, "macro_f1": 0.65 + 0.22 * q}
    elif task == RANKING:
        values = {"ndcg_at_10": 0.32 + 0.2 * q, "recall_at_20": 0.25 + 0.25 * q}
    elif task == REGRESSION:
        mae = _MAE_SCALE[model] * (1.3 - 0.6 * q)
        values = {"mae": mae, "rmse": 1.45 * mae, "r2": 0.45 + 0.4 * q}
    elif task == GENERATIVE:
        values = {"rouge_l": 0.32 + 0.15 * q, "win_rate_vs_baseline": 0.5 + 0.25 * q}
    else:
        raise ValueError(f"unknown task {task!r}")
    return {name: round(value, 4) for name, value in values.items()}


def _dataset_version(v: VersionPlan, rows: CatalogRows) -> DatasetVersion | None:
    """The newest version of the model's main dataset before the run: as the lineage."""
    older = [
        dv for dv in rows.dataset_versions[v.model.datasets[0]] if dv.created_at < v.registered_at
    ]
    return older[-1] if older else None


def _make_up(v: VersionPlan, rows: CatalogRows, rand: random.Random) -> dict:
    total = rand.randint(24, 140)
    extracted = round(total * rand.uniform(0.1, 0.4)) if v.model.name in _UNSTRUCTURED else 0
    (human_lo, human_hi), (third_lo, third_hi) = _LABELING[v.model.team]
    human = round(rand.uniform(human_lo, human_hi), 1)
    third = round(min(rand.uniform(third_lo, third_hi), 100 - human), 1)
    data = {
        "model": v.model.name,
        "version": v.name,
        "run_id": v.run_id,
        "started_at": v.run_started_at,
        "features_total": total,
        "features_transformed": round((total - extracted) * rand.uniform(0.3, 0.7)),
        "features_extracted": extracted,
        "labeling": {
            "human": human,
            "semi_supervised": round(100 - human - third, 1),
            "third_party": third,
        },
    }
    dataset = _dataset_version(v, rows)
    if dataset is not None:
        data["dataset"], data["dataset_version"] = v.model.datasets[0], dataset.version
    return data


def training_write(
    plan: Plan, rows: CatalogRows, *, progress: Callable[[str], None]
) -> TrainingSummary:
    rand = random.Random(f"{plan.seed}:training")
    skill = {spec: rand.uniform(0.3, 0.6) for spec in dict.fromkeys(v.model for v in plan.versions)}
    metrics = []
    for v in sorted(plan.versions, key=lambda v: v.registered_at):
        number = int(v.name)
        q = min(0.98, skill[v.model] + 0.06 * (number - 1) + rand.gauss(0, 0.03))
        for name, value in _metrics(MODEL_TASKS[v.model.name], v.model.name, q).items():
            metrics.append(
                {
                    "model": v.model.name,
                    "version": v.name,
                    "phase": LifecyclePhase.DEVELOPMENT.value,
                    "name": name,
                    "value": value,
                    "timestamp": v.run_ended_at.isoformat(),
                    "dimensions": {"run_id": v.run_id},
                }
            )
        serializer = TrainingRunSerializer(data=_make_up(v, rows, rand))
        serializer.is_valid(raise_exception=True)
        training_run_record(data=serializer.validated_data, principal=None)
    stored = metrics_ingest(rows=metrics, principal=None, source="demo")
    progress(f"training runs: {len(plan.versions)} with {stored.accepted} metrics")
    return TrainingSummary(runs=len(plan.versions), metrics=stored.accepted)
