"""The data preparation phase's KPI definitions: what each dataset and profile-shift
number means, in words."""

from __future__ import annotations

from lifecycle.catalog.kpis import Direction, Unit, kpi_define

PHASE = "dataprep"
# Every dataset KPI describes the newest version (or the two newest) as they are now,
# not a period: no previous period to compare with (compares=False).

UPLOAD_AGE = kpi_define(
    id="dataset_upload_age_days",
    phase=PHASE,
    label="Age of the last version",
    unit=Unit.DAYS,
    direction=Direction.LOWER_IS_BETTER,
    compares=False,
    formula="Days between now and the upload of the dataset's newest version.",
)
RECORD_AGE = kpi_define(
    id="dataset_record_age_days",
    phase=PHASE,
    label="Age of the newest record",
    unit=Unit.DAYS,
    direction=Direction.LOWER_IS_BETTER,
    compares=False,
    formula="Days between now and the newest value of the version's time column "
    "(unknown when the data has no date/time column).",
)
ROWS = kpi_define(
    id="dataset_rows",
    phase=PHASE,
    label="Rows",
    unit=Unit.COUNT,
    direction=Direction.NEUTRAL,
    compares=False,
    formula="Number of records in the dataset version.",
)
COLUMNS = kpi_define(
    id="dataset_columns",
    phase=PHASE,
    label="Columns",
    unit=Unit.COUNT,
    direction=Direction.NEUTRAL,
    compares=False,
    formula="Number of columns (features, labels and keys) in the dataset version.",
)
COMPLETENESS = kpi_define(
    id="dataset_completeness_pct",
    phase=PHASE,
    label="Completeness",
    unit=Unit.PERCENT,
    direction=Direction.HIGHER_IS_BETTER,
    compares=False,
    formula="100 x non-missing cells / all cells (rows x columns).",
)
IMPUTATION = kpi_define(
    id="dataset_rows_needing_imputation_pct",
    phase=PHASE,
    label="Rows needing imputation",
    unit=Unit.PERCENT,
    direction=Direction.LOWER_IS_BETTER,
    compares=False,
    formula="100 x rows with at least one missing value / all rows "
    "(unknown for whylogs profiles, which keep no row-level facts).",
)
OUTLIERS = kpi_define(
    id="dataset_outlier_pct",
    phase=PHASE,
    label="Outliers",
    unit=Unit.PERCENT,
    direction=Direction.LOWER_IS_BETTER,
    compares=False,
    formula="100 x numeric values outside Q1 - 1.5 IQR .. Q3 + 1.5 IQR of their column / all "
    "non-missing numeric values (estimated from a 100,000-value uniform sample per column "
    "when larger; unknown from sketches).",
)
AUGMENTED = kpi_define(
    id="dataset_augmented_pct",
    phase=PHASE,
    label="Augmented",
    unit=Unit.PERCENT,
    direction=Direction.NEUTRAL,
    compares=False,
    formula="100 x rows flagged as augmented or synthetic (a flag column such as "
    "`augmented`, or the uploader's metadata) / all rows; unknown when neither tells.",
)
UNSTRUCTURED = kpi_define(
    id="dataset_unstructured_share",
    phase=PHASE,
    label="Unstructured share",
    unit=Unit.FRACTION,
    direction=Direction.NEUTRAL,
    compares=False,
    formula="Columns of free text or references to images, audio or video / all columns.",
)
TIME_SERIES_SHARE = kpi_define(
    id="dataset_time_series_share",
    phase=PHASE,
    label="Time-series share",
    unit=Unit.FRACTION,
    direction=Direction.NEUTRAL,
    compares=False,
    formula="Dataset versions (newest per dataset) with a date/time column that never goes "
    "back in file order and whose commonest step covers 90% of steps / all datasets shown.",
)
PSI = kpi_define(
    id="profile_psi",
    phase=PHASE,
    label="PSI",
    unit=Unit.INDEX,
    direction=Direction.LOWER_IS_BETTER,
    compares=False,
    formula="Population stability index, sum of (new - base) x ln(new / base) over bins: "
    "the base version's deciles for numbers, the categories for the rest. Under 0.1 stable, "
    "0.1-0.2 moderate, 0.2 and over a shift.",
)
SHIFT_TEST = kpi_define(
    id="profile_shift_p_value",
    phase=PHASE,
    label="Shift test p-value",
    unit=Unit.P_VALUE,
    direction=Direction.HIGHER_IS_BETTER,
    compares=False,
    formula="Two-sample Kolmogorov-Smirnov test for numbers (statistic from the 101 "
    "percentiles each profile keeps), chi-square test of homogeneity for categories.",
)
MISSING_CHANGE = kpi_define(
    id="profile_missing_pct_change",
    phase=PHASE,
    label="Missing % change",
    unit=Unit.POINTS,
    direction=Direction.NEUTRAL,
    compares=False,
    formula="Missing % in the new version minus missing % in the base version.",
)
