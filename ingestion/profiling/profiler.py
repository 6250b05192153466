"""Profile a CSV or Parquet file in one streaming pass: memory stays flat whatever its size
(see `sketches` for what turns approximate past which size)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ingestion.profiling.columns import ColumnAccumulator, column_name_matches
from ingestion.profiling.errors import EmptyFile, ProfileError, TooLarge
from ingestion.profiling.readers import Limits, Restart, source_open
from lifecycle.dataprep import profiles as fmt

# Columns that carry row-level facts the dataset shares are read from, by name.
AUGMENTED_COLUMNS = ("augmented", "is_augmented", "synthetic", "is_synthetic")
PARTY_COLUMNS = ("data_source", "source_party", "party", "data_party")
LABELING_COLUMNS = (
    "label_source",
    "labeling",
    "labeling_technique",
    "label_technique",
    "labeled_by",
)
_TRUE = {"true", "1", "yes", "y", "t"}
_PARTY_WORDS = {
    "first_party": "first_party",
    "first": "first_party",
    "1p": "first_party",
    "internal": "first_party",
    "third_party": "third_party",
    "third": "third_party",
    "3p": "third_party",
    "external": "third_party",
    "vendor": "third_party",
}
_LABELING_WORDS = {
    "human": "human",
    "manual": "human",
    "annotator": "human",
    "expert": "human",
    "semi_supervised": "semi_supervised",
    "semi": "semi_supervised",
    "weak": "semi_supervised",
    "pseudo": "semi_supervised",
    "model": "semi_supervised",
    "third_party": "third_party",
    "vendor": "third_party",
    "external": "third_party",
}


@dataclass(frozen=True)
class ProfileMetadata:
    """What the uploader says about the data when no column tells."""

    augmented_pct: float | None = None
    party: str | None = None  # "first_party" | "third_party"
    labeling: str | None = None  # one of LABELING_TECHNIQUES, for all labelled rows
    time_column: str | None = None


def _normalise(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().lower().replace("-", "_").replace(" ", "_")


def _shares(counts: dict[Any, int], words: dict[str, str]) -> dict[str, float] | None:
    mapped: dict[str, int] = {}
    for value, count in counts.items():
        key = words.get(_normalise(value))
        if key is None:
            return None  # a value we cannot place: better unknown than wrong
        mapped[key] = mapped.get(key, 0) + count
    total = sum(mapped.values())
    return {k: 100.0 * v / total for k, v in sorted(mapped.items())} if total else None


def file_profile(
    *,
    path: Path,
    name: str,
    limits: Limits | None = None,
    declared: str | None = None,
    delimiter: str | None = None,
    metadata: ProfileMetadata | None = None,
) -> dict[str, Any]:
    """The profile of the file at `path`, uploaded as `name`. Raises ProfileError."""
    limits = limits or Limits.from_settings()
    metadata = metadata or ProfileMetadata()
    source = source_open(
        path=path, name=name, limits=limits, declared=declared, delimiter=delimiter
    )
    accumulators: list[ColumnAccumulator] | None = None
    rows = rows_with_missing = 0
    for item in source.batches:
        if isinstance(item, Restart):
            accumulators, rows, rows_with_missing = None, 0, 0
            continue
        if accumulators is None:
            accumulators = [ColumnAccumulator(f.name, f.type) for f in item.schema]
        if rows + item.num_rows > limits.max_rows:
            raise TooLarge(f"{name} has more than {limits.max_rows:,} rows, the limit.")
        any_missing = np.zeros(item.num_rows, dtype=bool)
        for accumulator, column in zip(accumulators, item.columns, strict=True):
            any_missing |= accumulator.add(column)
        rows += item.num_rows
        rows_with_missing += int(any_missing.sum())
    if not accumulators or not rows:
        raise EmptyFile(f"{name} has a header but no rows.")
    profile = {
        "format": fmt.PROFILE_FORMAT,
        "source": {
            "kind": source.kind,
            "file_name": name,
            "bytes": path.stat().st_size,
            **source.details,
        },
        "rows": rows,
        "columns": len(accumulators),
        "column_profiles": [a.profile() for a in accumulators],
        "dataset": dict.fromkeys(fmt.DATASET_FIELDS),
    }
    dataset = profile["dataset"]
    dataset["rows_needing_imputation_pct"] = 100.0 * rows_with_missing / rows
    _row_facts(dataset, accumulators, rows=rows, metadata=metadata)
    _time_facts(dataset, accumulators, profile["column_profiles"], metadata=metadata, name=name)
    fmt.dataset_shares_fill(profile)
    return profile


def _row_facts(
    dataset: dict[str, Any],
    accumulators: list[ColumnAccumulator],
    *,
    rows: int,
    metadata: ProfileMetadata,
) -> None:
    for accumulator in accumulators:
        counts = accumulator.top_counts()
        if counts is None:
            continue
        if column_name_matches(accumulator.name, AUGMENTED_COLUMNS):
            flagged = sum(c for v, c in counts.items() if _normalise(v) in _TRUE)
            dataset["augmented_pct"] = 100.0 * flagged / rows
            dataset["augmented_from"] = accumulator.name
        elif column_name_matches(accumulator.name, PARTY_COLUMNS):
            shares = _shares(counts, _PARTY_WORDS)
            if shares is not None:
                dataset["party_shares"], dataset["party_from"] = shares, accumulator.name
        elif column_name_matches(accumulator.name, LABELING_COLUMNS):
            shares = _shares(counts, _LABELING_WORDS)
            if shares is not None:
                dataset["labeling_shares"], dataset["labeling_from"] = shares, accumulator.name
    if dataset["augmented_pct"] is None and metadata.augmented_pct is not None:
        dataset["augmented_pct"], dataset["augmented_from"] = metadata.augmented_pct, "metadata"
    if dataset["party_shares"] is None and metadata.party:
        dataset["party_shares"], dataset["party_from"] = {metadata.party: 100.0}, "metadata"
    if dataset["labeling_shares"] is None and metadata.labeling:
        dataset["labeling_shares"] = {metadata.labeling: 100.0}
        dataset["labeling_from"] = "metadata"


def _time_facts(
    dataset: dict[str, Any],
    accumulators: list[ColumnAccumulator],
    columns: list[dict[str, Any]],
    *,
    metadata: ProfileMetadata,
    name: str,
) -> None:
    datetimes = [c for c in columns if c["kind"] == fmt.DATETIME and c["datetime"]["max"]]
    regular = [c for c in datetimes if c["datetime"]["time_series"]]
    if regular:
        dataset["time_series"] = {
            "column": regular[0]["name"],
            "step_seconds": regular[0]["datetime"]["step_seconds"],
        }
    chosen = None
    if metadata.time_column:
        chosen = next((c for c in columns if c["name"] == metadata.time_column), None)
        if chosen is None or chosen["kind"] != fmt.DATETIME:
            raise ProfileError(
                f"time_column {metadata.time_column!r} is not a date/time column of {name}."
            )
    elif regular or datetimes:
        chosen = (regular or datetimes)[0]
    if chosen is not None and chosen["datetime"]["max"]:
        dataset["time_column"] = chosen["name"]
        dataset["newest_record_at"] = chosen["datetime"]["max"]
