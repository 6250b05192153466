"""Data preparation KPIs: datasets in, typed KPI values out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, QuerySet

from lifecycle.catalog.kpis import Direction, kpi_define
from lifecycle.catalog.models import Dataset

PHASE = "dataprep"

UPLOAD_AGE = kpi_define(
    id="dataset_upload_age_days",
    phase=PHASE,
    label="Age of the last version",
    unit="days",
    direction=Direction.LOWER_IS_BETTER,
    formula="Days between now and the creation of the dataset's newest version.",
)


@dataclass(frozen=True)
class DatasetRow:
    dataset: Dataset
    versions: int
    latest_version_at: datetime | None
    model_versions: int
    upload_age_days: float | None


def dataset_rows(datasets: QuerySet[Dataset], *, now: datetime) -> list[DatasetRow]:
    annotated = datasets.select_related("team").annotate(
        n_versions=Count("versions", distinct=True),
        latest=Max("versions__created_at"),
        n_model_versions=Count("versions__model_versions", distinct=True),
    )
    return [
        DatasetRow(
            dataset=d,
            versions=d.n_versions,
            latest_version_at=d.latest,
            model_versions=d.n_model_versions,
            upload_age_days=(now - d.latest) / timedelta(days=1) if d.latest else None,
        )
        for d in annotated
    ]
