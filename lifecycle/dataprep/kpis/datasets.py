"""Dataset freshness and the tiles of a dataset version: datasets and their newest
profiles in, KPI values out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, QuerySet

from lifecycle.catalog.kpis import KpiValue
from lifecycle.catalog.models import Dataset, DatasetVersion
from lifecycle.dataprep.kpis.definitions import (
    AUGMENTED,
    COLUMNS,
    COMPLETENESS,
    IMPUTATION,
    OUTLIERS,
    RECORD_AGE,
    ROWS,
    TIME_SERIES_SHARE,
    UNSTRUCTURED,
    UPLOAD_AGE,
)


@dataclass(frozen=True)
class DatasetRow:
    dataset: Dataset
    versions: int
    latest_version_at: datetime | None
    model_versions: int
    upload_age_days: float | None
    latest: DatasetVersion | None
    record_age_days: float | None
    completeness_pct: float | None
    time_series: bool | None

    @property
    def kpis(self) -> list[KpiValue]:
        return [
            KpiValue(UPLOAD_AGE, self.upload_age_days),
            KpiValue(RECORD_AGE, self.record_age_days),
            KpiValue(COMPLETENESS, self.completeness_pct),
        ]


def _days(now: datetime, then: datetime | None) -> float | None:
    return (now - then) / timedelta(days=1) if then else None


def dataset_rows(datasets: QuerySet[Dataset], *, now: datetime) -> list[DatasetRow]:
    """One row per dataset with the freshness of its newest version at a glance."""
    annotated = datasets.select_related("team").annotate(
        n_versions=Count("versions", distinct=True),
        latest=Max("versions__created_at"),
        n_model_versions=Count("versions__model_versions", distinct=True),
    )
    latest_versions = {
        v.dataset_id: v
        for v in DatasetVersion.objects.filter(dataset__in=datasets)
        .select_related("profile", "dataset")
        .order_by("dataset_id", "created_at")
    }  # ordered oldest first, so each dataset keeps its newest
    rows = []
    for d in annotated:
        latest = latest_versions.get(d.pk)
        profile = getattr(latest, "profile", None) if latest else None
        rows.append(
            DatasetRow(
                dataset=d,
                versions=d.n_versions,
                latest_version_at=d.latest,
                model_versions=d.n_model_versions,
                upload_age_days=_days(now, d.latest),
                latest=latest,
                record_age_days=_days(now, profile.newest_record_at) if profile else None,
                completeness_pct=profile.completeness_pct if profile else None,
                time_series=bool(profile.profile["dataset"].get("time_series"))
                if profile
                else None,
            )
        )
    return rows


def time_series_share(rows: list[DatasetRow]) -> KpiValue:
    known = [r.time_series for r in rows if r.time_series is not None]
    return KpiValue(TIME_SERIES_SHARE, sum(known) / len(known) if known else None)


def version_kpis(version: DatasetVersion, *, now: datetime) -> list[KpiValue]:
    """The tiles of a dataset version page; None where the profile cannot tell."""
    profile = getattr(version, "profile", None)
    data = profile.profile["dataset"] if profile else {}
    return [
        KpiValue(ROWS, profile.rows if profile else None),
        KpiValue(COLUMNS, profile.columns if profile else None),
        KpiValue(COMPLETENESS, data.get("completeness_pct")),
        KpiValue(IMPUTATION, data.get("rows_needing_imputation_pct")),
        KpiValue(OUTLIERS, data.get("outlier_pct")),
        KpiValue(AUGMENTED, data.get("augmented_pct")),
        KpiValue(UNSTRUCTURED, data.get("unstructured_share")),
        KpiValue(RECORD_AGE, _days(now, profile.newest_record_at) if profile else None),
        KpiValue(UPLOAD_AGE, _days(now, version.created_at)),
    ]
