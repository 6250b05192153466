"""Model development's provider for the KPI engine.

The run make-up KPIs describe one training run; for a scope (the runs of the model
versions the filters select, as on the development pages) each is the mean over the
runs where it is known."""

from __future__ import annotations

from statistics import fmean

from lifecycle.catalog.kpis import KpiRequest, KpiRequestError, kpi_provide
from lifecycle.catalog.models import LifecycleMetric
from lifecycle.development.filtersets import TrainingMetricFilterSet, TrainingRunFilterSet
from lifecycle.development.kpis.definitions import (
    FEATURES_EXTRACTED,
    FEATURES_TRANSFORMED,
    LABELING_HUMAN,
    LABELING_SEMI,
    LABELING_THIRD,
    TRAINING_RUNS,
)
from lifecycle.development.kpis.runs import RunRow, runs_summary, training_runs
from lifecycle.development.models import TrainingRun

RUN_IDS = (FEATURES_TRANSFORMED, FEATURES_EXTRACTED, LABELING_HUMAN, LABELING_SEMI, LABELING_THIRD)


def request_training_runs(request: KpiRequest) -> list[RunRow]:
    """The training runs `request` selects (raises KpiRequestError for a filter the
    development FilterSets cannot read), read once per request."""
    return request.remember(("development", "runs"), lambda: _training_runs_read(request))


def _training_runs_read(request: KpiRequest) -> list[RunRow]:
    runs = TrainingRunFilterSet(request.query, queryset=TrainingRun.objects.all(), now=request.now)
    metrics = TrainingMetricFilterSet(
        request.query, queryset=LifecycleMetric.objects.all(), now=request.now
    )
    if not (runs.is_valid() and metrics.is_valid()):
        raise KpiRequestError({**runs.errors, **metrics.errors})
    return training_runs(metrics=metrics.filter_queryset_as_asked(), runs=runs.qs)


def development_kpis_compute(request: KpiRequest) -> dict[str, float | int | None]:
    rows = request_training_runs(request)
    answer: dict[str, float | int | None] = {
        kpi.definition.id: kpi.value for kpi in runs_summary(rows)
    }
    known: dict[str, list[float]] = {kpi.id: [] for kpi in RUN_IDS}
    for row in rows:
        for kpi in row.kpis:
            if kpi.value is not None:
                known[kpi.definition.id].append(kpi.value)
    answer |= {kpi_id: fmean(values) if values else None for kpi_id, values in known.items()}
    return answer


kpi_provide(
    name="development",
    ids=[TRAINING_RUNS.id, *(kpi.id for kpi in RUN_IDS)],
    compute=development_kpis_compute,
)
