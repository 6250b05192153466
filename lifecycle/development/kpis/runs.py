"""Training runs: development metrics and pushed run details joined per run, and the
run KPIs read from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from lifecycle.catalog.kpis import KpiValue
from lifecycle.catalog.models import DatasetVersion, LifecycleMetric, ModelVersion
from lifecycle.development.kpis.definitions import (
    FEATURES_EXTRACTED,
    FEATURES_TRANSFORMED,
    LABELING_HUMAN,
    LABELING_SEMI,
    LABELING_THIRD,
    TRAINING_RUNS,
)
from lifecycle.development.models import TrainingRun

RUN_ID = "run_id"
NO_RUN = "(no run id)"


@dataclass
class RunRow:
    model_version: ModelVersion
    run_id: str
    started_at: datetime | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    details: TrainingRun | None = None

    @property
    def dataset_version(self) -> DatasetVersion | None:
        return self.details.dataset_version if self.details else None

    def _pct(self, part: int | None) -> float | None:
        total = self.details.features_total if self.details else None
        return 100.0 * part / total if part is not None and total else None

    @property
    def kpis(self) -> list[KpiValue]:
        d = self.details
        return [
            KpiValue(FEATURES_TRANSFORMED, self._pct(d.features_transformed) if d else None),
            KpiValue(FEATURES_EXTRACTED, self._pct(d.features_extracted) if d else None),
            KpiValue(LABELING_HUMAN, d.labeling_human_pct if d else None),
            KpiValue(LABELING_SEMI, d.labeling_semi_supervised_pct if d else None),
            KpiValue(LABELING_THIRD, d.labeling_third_party_pct if d else None),
        ]


def training_runs(
    *, metrics: QuerySet[LifecycleMetric], runs: QuerySet[TrainingRun]
) -> list[RunRow]:
    """Every run seen in either source, oldest version first; metrics without a run id
    are grouped per version under NO_RUN."""
    rows: dict[tuple[int, str], RunRow] = {}
    for run in runs.select_related("model_version__model", "dataset_version__dataset"):
        rows[(run.model_version_id, run.run_id)] = RunRow(
            run.model_version, run.run_id, run.started_at, details=run
        )
    for metric in (
        metrics.filter(model_version__isnull=False)
        .select_related("model_version__model")
        .order_by("timestamp", "pk")
    ):
        run_id = str((metric.dimensions or {}).get(RUN_ID) or NO_RUN)
        row = rows.setdefault(
            (metric.model_version_id, run_id), RunRow(metric.model_version, run_id)
        )
        row.metrics[metric.name] = metric.value  # ordered by time: the latest wins
        if row.started_at is None or metric.timestamp < row.started_at:
            row.started_at = metric.timestamp
    return sorted(
        rows.values(),
        key=lambda r: (
            r.model_version.model.name,
            r.model_version.registered_at,
            r.started_at or r.model_version.registered_at,
            r.run_id,
        ),
    )


def metric_names(rows: list[RunRow]) -> list[str]:
    return sorted({name for row in rows for name in row.metrics})


def runs_summary(rows: list[RunRow]) -> list[KpiValue]:
    known = [r for r in rows if r.run_id != NO_RUN]
    return [KpiValue(TRAINING_RUNS, len(known))]


def runs_by_version(rows: list[RunRow]) -> dict[str, Any]:
    """Per model version, the latest run's metrics: what compares across versions."""
    latest: dict[int, RunRow] = {}
    for row in rows:
        latest[row.model_version.pk] = row
    return {f"v{r.model_version.version}": r for r in latest.values()}
