"""The dataset profile format, owned by the data preparation phase.

A profile is a JSON document. The streaming profiler in `ingestion/profiling` writes it
for uploaded files, teams that profile elsewhere push it as JSON, and whylogs profiles are
mapped onto it. `None` always means *unknown* (a sketch could not tell, or nobody said),
never zero: pages show it as "unknown".

Shape (format "kpiboard.profile/1")::

    {"format": "kpiboard.profile/1",
     "source": {"kind": "csv" | "parquet" | "json" | "whylogs", "file_name": ..., ...},
     "rows": int, "columns": int,
     "column_profiles": [ColumnProfile, ...],
     "dataset": {...dataset-level shares, see DATASET_FIELDS...}}

    ColumnProfile = {"name", "kind", "count", "missing", "missing_pct",
                     "distinct", "distinct_approx",
                     "numeric": {"min", "max", "mean", "std", "quantiles": {"0.25": ...},
                                 "cdf": [101 values: the 0th..100th percentiles],
                                 "histogram": {"edges": [...], "counts": [...]},
                                 "outliers": {"rule", "count", "pct", "approx"}} | None,
                     "top_values": [{"value", "count"}] | None, "top_values_approx",
                     "other_count": count of the values outside top_values | None,
                     "datetime": {"min", "max", "time_series", "step_seconds"} | None,
                     "mean_length": float | None}
"""

from __future__ import annotations

import math
from typing import Any

PROFILE_FORMAT = "kpiboard.profile/1"

NUMERIC = "numeric"
CATEGORICAL = "categorical"
BOOLEAN = "boolean"
TEXT = "text"
DATETIME = "datetime"
IMAGE = "image"
AUDIO = "audio"
VIDEO = "video"
OTHER = "other"

KINDS = (NUMERIC, CATEGORICAL, BOOLEAN, TEXT, DATETIME, IMAGE, AUDIO, VIDEO, OTHER)
MEDIA_KINDS = (IMAGE, AUDIO, VIDEO)
# Unstructured data is free text and media; a column of references to media files
# stands for the media themselves.
UNSTRUCTURED_KINDS = frozenset({TEXT, IMAGE, AUDIO, VIDEO})

LABELING_TECHNIQUES = ("human", "semi_supervised", "third_party")
PARTIES = ("first_party", "third_party")

OUTLIER_RULE = "iqr_1.5"
OUTLIER_RULE_TEXT = (
    "IQR rule: a value is an outlier when it lies below Q1 - 1.5 x IQR or above "
    "Q3 + 1.5 x IQR, with Q1 and Q3 the column's quartiles."
)

# Dataset-level fields; each may be None (unknown).
DATASET_FIELDS = (
    "kind_shares",  # {kind: share of columns}
    "structured_share",  # share of columns of a structured kind
    "unstructured_share",
    "completeness_pct",  # 100 x non-missing cells / all cells
    "rows_needing_imputation_pct",  # 100 x rows with at least one missing cell / rows
    "outlier_pct",  # 100 x outlier numeric cells / non-missing numeric cells
    "augmented_pct",  # 100 x augmented rows / rows
    "augmented_from",  # the flag column, or "metadata"
    "party_shares",  # {"first_party": pct, "third_party": pct}
    "party_from",
    "labeling_shares",  # {"human": pct, "semi_supervised": pct, "third_party": pct}
    "labeling_from",
    "time_column",  # the column freshness and time-series detection read
    "time_series",  # {"column", "step_seconds"} when a datetime column is regular
    "newest_record_at",  # ISO 8601, newest value of time_column
)


class ProfileInvalid(ValueError):
    """A pushed profile is not in the format; `field` names where."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _number(value: Any, field: str, *, allow_none: bool = True) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ProfileInvalid(field, "must be a finite number" + (" or null" if allow_none else ""))
    return value


def _pct(value: Any, field: str) -> float | None:
    value = _number(value, field)
    if value is not None and not 0 <= value <= 100:
        raise ProfileInvalid(field, "must be a percentage between 0 and 100")
    return value


def _count(value: Any, field: str, *, allow_none: bool = True) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProfileInvalid(field, "must be a whole number >= 0")
    return value


def _shares(value: Any, field: str, allowed: tuple[str, ...]) -> dict[str, float] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProfileInvalid(field, f"must be an object with keys among {', '.join(allowed)}")
    for key, share in value.items():
        if key not in allowed:
            raise ProfileInvalid(f"{field}.{key}", f"unknown key; use {', '.join(allowed)}")
        _pct(share, f"{field}.{key}")
    return value


def profile_validate(data: Any) -> dict[str, Any]:
    """Check a pushed profile and fill what it leaves out with None (unknown).

    Raises ProfileInvalid naming the first bad field."""
    if not isinstance(data, dict):
        raise ProfileInvalid("profile", "must be a JSON object")
    fmt = data.get("format", PROFILE_FORMAT)
    if fmt != PROFILE_FORMAT:
        raise ProfileInvalid("format", f"must be {PROFILE_FORMAT!r}")
    rows = _count(data.get("rows"), "rows", allow_none=False)
    columns = data.get("column_profiles")
    if not isinstance(columns, list) or not columns:
        raise ProfileInvalid("column_profiles", "must be a non-empty list")
    names: set[str] = set()
    cleaned_columns = []
    for i, column in enumerate(columns):
        where = f"column_profiles[{i}]"
        if not isinstance(column, dict):
            raise ProfileInvalid(where, "must be an object")
        name = column.get("name")
        if not isinstance(name, str) or not name:
            raise ProfileInvalid(f"{where}.name", "must be a non-empty string")
        if name in names:
            raise ProfileInvalid(f"{where}.name", f"column {name!r} appears twice")
        names.add(name)
        kind = column.get("kind")
        if kind not in KINDS:
            raise ProfileInvalid(f"{where}.kind", f"must be one of {', '.join(KINDS)}")
        missing = _count(column.get("missing"), f"{where}.missing")
        if missing is not None and missing > rows:
            raise ProfileInvalid(f"{where}.missing", "exceeds rows")
        cleaned = column_profile_blank(name=name, kind=kind)
        cleaned.update(column)
        cleaned["count"] = rows
        cleaned["missing"] = missing
        cleaned["missing_pct"] = (
            100.0 * missing / rows if missing is not None and rows else column.get("missing_pct")
        )
        _pct(cleaned["missing_pct"], f"{where}.missing_pct")
        _count(cleaned["distinct"], f"{where}.distinct")
        numeric = cleaned.get("numeric")
        if numeric is not None:
            if not isinstance(numeric, dict):
                raise ProfileInvalid(f"{where}.numeric", "must be an object or null")
            for key in ("min", "max", "mean", "std"):
                _number(numeric.get(key), f"{where}.numeric.{key}")
            cdf = numeric.get("cdf")
            if cdf is not None and (
                not isinstance(cdf, list)
                or len(cdf) != 101
                or any(_number(v, f"{where}.numeric.cdf", allow_none=False) is None for v in cdf)
            ):
                raise ProfileInvalid(f"{where}.numeric.cdf", "must be 101 percentiles")
            numeric.setdefault("quantiles", None)
            numeric.setdefault("cdf", None)
            numeric.setdefault("histogram", None)
            numeric.setdefault("outliers", None)
        top = cleaned.get("top_values")
        if top is not None and (
            not isinstance(top, list)
            or any(not isinstance(t, dict) or "value" not in t or "count" not in t for t in top)
        ):
            raise ProfileInvalid(f"{where}.top_values", "must be a list of {value, count}")
        cleaned_columns.append(cleaned)
    dataset = data.get("dataset") or {}
    if not isinstance(dataset, dict):
        raise ProfileInvalid("dataset", "must be an object")
    cleaned_dataset = dict.fromkeys(DATASET_FIELDS)
    cleaned_dataset.update({k: v for k, v in dataset.items() if k in DATASET_FIELDS})
    for key in (
        "completeness_pct",
        "rows_needing_imputation_pct",
        "outlier_pct",
        "augmented_pct",
    ):
        _pct(cleaned_dataset[key], f"dataset.{key}")
    _shares(cleaned_dataset["party_shares"], "dataset.party_shares", PARTIES)
    _shares(cleaned_dataset["labeling_shares"], "dataset.labeling_shares", LABELING_TECHNIQUES)
    profile = {
        "format": PROFILE_FORMAT,
        "source": {**(data.get("source") or {}), "kind": "json"},
        "rows": rows,
        "columns": len(cleaned_columns),
        "column_profiles": cleaned_columns,
        "dataset": cleaned_dataset,
    }
    dataset_shares_fill(profile)
    return profile


def column_profile_blank(*, name: str, kind: str) -> dict[str, Any]:
    """A column profile where everything is unknown."""
    return {
        "name": name,
        "kind": kind,
        "count": None,
        "missing": None,
        "missing_pct": None,
        "distinct": None,
        "distinct_approx": None,
        "numeric": None,
        "top_values": None,
        "top_values_approx": None,
        "other_count": None,
        "datetime": None,
        "mean_length": None,
    }


def dataset_shares_fill(profile: dict[str, Any]) -> None:
    """Fill the dataset-level shares that follow from the columns, where still unknown."""
    columns = profile["column_profiles"]
    dataset = profile["dataset"]
    n = len(columns)
    if not n:
        return
    if dataset.get("kind_shares") is None:
        dataset["kind_shares"] = {
            kind: sum(c["kind"] == kind for c in columns) / n
            for kind in KINDS
            if any(c["kind"] == kind for c in columns)
        }
    unstructured = sum(c["kind"] in UNSTRUCTURED_KINDS for c in columns) / n
    if dataset.get("unstructured_share") is None:
        dataset["unstructured_share"] = unstructured
    if dataset.get("structured_share") is None:
        dataset["structured_share"] = 1.0 - unstructured
    if dataset.get("completeness_pct") is None and all(c["missing"] is not None for c in columns):
        cells = profile["rows"] * n
        missing = sum(c["missing"] for c in columns)
        dataset["completeness_pct"] = 100.0 * (cells - missing) / cells if cells else None
    if dataset.get("outlier_pct") is None:
        outliers = [
            (c["numeric"]["outliers"], c["count"] - c["missing"])
            for c in columns
            if c["kind"] == NUMERIC and c.get("numeric") and c["missing"] is not None
        ]
        if outliers and all(o is not None and o.get("count") is not None for o, _ in outliers):
            values = sum(v for _, v in outliers)
            dataset["outlier_pct"] = (
                100.0 * sum(o["count"] for o, _ in outliers) / values if values else None
            )
