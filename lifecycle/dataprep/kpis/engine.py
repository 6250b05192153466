"""Data preparation's provider for the KPI engine.

The dataset KPIs describe one dataset version. For a scope (the datasets the filters
select, as on the data page) each is read from every dataset's newest version: counts
are added up, shares and ages averaged over the datasets where they are known, and the
shift KPIs (PSI, test p-value, missing % change) are the worst column between each
dataset's two newest profiled versions."""

from __future__ import annotations

from statistics import fmean

from django.db.models import QuerySet

from lifecycle.catalog.kpis import KpiRequest, KpiRequestError, Unit, kpi_provide
from lifecycle.catalog.models import Dataset, DatasetVersion
from lifecycle.dataprep.filtersets import DatasetFilterSet
from lifecycle.dataprep.kpis.datasets import (
    DatasetRow,
    dataset_rows,
    time_series_share,
    version_kpis,
)
from lifecycle.dataprep.kpis.definitions import (
    AUGMENTED,
    COLUMNS,
    COMPLETENESS,
    IMPUTATION,
    MISSING_CHANGE,
    OUTLIERS,
    PSI,
    RECORD_AGE,
    ROWS,
    SHIFT_TEST,
    TIME_SERIES_SHARE,
    UNSTRUCTURED,
    UPLOAD_AGE,
)
from lifecycle.dataprep.kpis.diffs import profile_diff

VERSION_IDS = (
    ROWS,
    COLUMNS,
    COMPLETENESS,
    IMPUTATION,
    OUTLIERS,
    AUGMENTED,
    UNSTRUCTURED,
    RECORD_AGE,
    UPLOAD_AGE,
)
SHIFT_IDS = (PSI, SHIFT_TEST, MISSING_CHANGE)


def _worst_shift(versions: list[DatasetVersion]) -> dict[str, float | None]:
    """The worst column's shift between the two newest profiled versions of a dataset."""
    profiled = [v for v in versions if getattr(v, "profile", None) is not None][-2:]
    if len(profiled) < 2:
        return {}
    diff = profile_diff(base=profiled[0].profile.profile, new=profiled[1].profile.profile)
    psis = [c.psi for c in diff.columns if c.psi is not None]
    ps = [c.p_value for c in diff.columns if c.p_value is not None]
    changes = [c.missing_pct_change for c in diff.columns if c.missing_pct_change is not None]
    return {
        PSI.id: max(psis, default=None),
        SHIFT_TEST.id: min(ps, default=None),
        MISSING_CHANGE.id: max(changes, key=abs, default=None),
    }


def request_datasets(request: KpiRequest) -> QuerySet[Dataset]:
    """The datasets `request` selects (raises KpiRequestError for a filter the dataset
    FilterSet cannot read)."""
    filters = DatasetFilterSet(request.query, queryset=Dataset.objects.all(), now=request.now)
    if not filters.is_valid():
        raise KpiRequestError(filters.errors)
    return filters.qs


def request_dataset_rows(request: KpiRequest) -> list[DatasetRow]:
    """Each selected dataset with its newest version, read once per request."""
    return request.remember(
        ("dataprep", "rows"), lambda: dataset_rows(request_datasets(request), now=request.now)
    )


def dataset_kpis_compute(request: KpiRequest) -> dict[str, float | int | None]:
    rows = request_dataset_rows(request)
    answer: dict[str, float | int | None] = {TIME_SERIES_SHARE.id: time_series_share(rows).value}
    per_version: dict[str, list[float]] = {kpi.id: [] for kpi in VERSION_IDS}
    for row in rows:
        if row.latest is None:
            continue
        for kpi in version_kpis(row.latest, now=request.now):
            if kpi.value is not None:
                per_version[kpi.definition.id].append(kpi.value)
    for kpi in VERSION_IDS:
        known = per_version[kpi.id]
        if not known:
            answer[kpi.id] = None
        else:
            answer[kpi.id] = sum(known) if kpi.unit is Unit.COUNT else fmean(known)
    return answer


# Two providers: the data page's tile reads the datasets, not every profile diff.
def shift_kpis_compute(request: KpiRequest) -> dict[str, float | None]:
    answer: dict[str, float | None] = {}
    versions = (
        DatasetVersion.objects.filter(dataset__in=request_datasets(request))
        .select_related("profile")
        .order_by("dataset_id", "created_at")
    )
    by_dataset: dict[int, list[DatasetVersion]] = {}
    for version in versions:
        by_dataset.setdefault(version.dataset_id, []).append(version)
    shifts = [_worst_shift(vs) for vs in by_dataset.values()]
    shifts = [s for s in shifts if s]
    psis = [s[PSI.id] for s in shifts if s[PSI.id] is not None]
    ps = [s[SHIFT_TEST.id] for s in shifts if s[SHIFT_TEST.id] is not None]
    changes = [s[MISSING_CHANGE.id] for s in shifts if s[MISSING_CHANGE.id] is not None]
    answer[PSI.id] = max(psis, default=None)
    answer[SHIFT_TEST.id] = min(ps, default=None)
    answer[MISSING_CHANGE.id] = max(changes, key=abs, default=None)
    return answer


kpi_provide(
    name="dataprep.datasets",
    ids=[kpi.id for kpi in (*VERSION_IDS, TIME_SERIES_SHARE)],
    compute=dataset_kpis_compute,
)
kpi_provide(name="dataprep.shifts", ids=[kpi.id for kpi in SHIFT_IDS], compute=shift_kpis_compute)
