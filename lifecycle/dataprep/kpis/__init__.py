"""Data preparation KPIs: datasets and their profiles in, typed KPI values out. The only
place the data preparation phase's KPI maths lives.

definitions: every KPI, declared once · datasets: freshness per dataset and the tiles of
a dataset version · diffs: schema change and distribution shift between two profiles ·
engine: the phase's provider for the catalog's KPI engine (registered by the app's
`ready()`). Import from this package.
"""

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
    PHASE,
    PSI,
    RECORD_AGE,
    ROWS,
    SHIFT_TEST,
    TIME_SERIES_SHARE,
    UNSTRUCTURED,
    UPLOAD_AGE,
)
from lifecycle.dataprep.kpis.diffs import (
    ColumnDiff,
    ProfileDiff,
    profile_diff,
)

__all__ = [
    "AUGMENTED",
    "COLUMNS",
    "COMPLETENESS",
    "IMPUTATION",
    "MISSING_CHANGE",
    "OUTLIERS",
    "PHASE",
    "PSI",
    "RECORD_AGE",
    "ROWS",
    "SHIFT_TEST",
    "TIME_SERIES_SHARE",
    "UNSTRUCTURED",
    "UPLOAD_AGE",
    "ColumnDiff",
    "DatasetRow",
    "ProfileDiff",
    "dataset_rows",
    "profile_diff",
    "time_series_share",
    "version_kpis",
]
