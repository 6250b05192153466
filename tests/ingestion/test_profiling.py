"""The streaming profiler against a direct pandas computation on generated data with known
missing values, outliers and kinds."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion.profiling import ProfileMetadata, file_profile
from ingestion.profiling import readers as readers_module
from ingestion.profiling.sketches import DistinctCounter, Reservoir

N = 3_000


def _frame(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.normal(100, 15, N)
    amount[rng.choice(N, 30, replace=False)] = rng.choice([-500.0, 900.0], 30)  # outliers
    amount[rng.choice(N, 150, replace=False)] = np.nan  # 5% missing
    merchant = rng.choice(["shop", "fuel", "food", "travel"], N, p=[0.4, 0.3, 0.2, 0.1])
    merchant = np.where(rng.random(N) < 0.1, None, merchant)
    return pd.DataFrame(
        {
            "amount": amount,
            "count": rng.integers(0, 50, N),
            "merchant": merchant,
            "at": pd.date_range("2024-03-01", periods=N, freq="15min").strftime(
                "%Y-%m-%dT%H:%M:%S"
            ),
            "photo": [f"https://cdn.example.com/p/{i}.JPG?size=large" for i in range(N)],
            "clip": [f"clips/{i}.wav" for i in range(N)],
            "comment": [f"customer number {i} wrote a remark" for i in range(N)],
            "is_fraud": rng.random(N) < 0.05,
            "augmented": (rng.random(N) < 0.25).astype(int),
            "label_source": rng.choice(["human", "vendor", "weak"], N),
        }
    )


@pytest.fixture
def frame() -> pd.DataFrame:
    return _frame()


def _by_name(profile: dict) -> dict[str, dict]:
    return {c["name"]: c for c in profile["column_profiles"]}


def _iqr_outliers(values: pd.Series) -> int:
    q1, q3 = values.quantile([0.25, 0.75])
    iqr = q3 - q1
    return int(((values < q1 - 1.5 * iqr) | (values > q3 + 1.5 * iqr)).sum())


@pytest.mark.recomputes("dataset_rows", "dataset_columns")
def test_it_profiles_a_semicolon_csv_as_pandas_computes_it(tmp_path: Path, frame) -> None:
    path = tmp_path / "tx.csv"
    frame.to_csv(path, sep=";", index=False)
    profile = file_profile(path=path, name="tx.csv")
    expected = pd.read_csv(path, sep=";")
    columns = _by_name(profile)

    assert profile["source"]["delimiter"] == ";"
    assert profile["rows"] == len(expected)
    assert profile["columns"] == expected.shape[1]
    for name in expected.columns:
        assert columns[name]["missing"] == int(expected[name].isna().sum()), name
    amount = expected["amount"].dropna()
    numeric = columns["amount"]["numeric"]
    assert numeric["mean"] == pytest.approx(amount.mean())
    assert numeric["std"] == pytest.approx(amount.std())
    assert numeric["min"] == amount.min() and numeric["max"] == amount.max()
    for q, value in numeric["quantiles"].items():
        assert value == pytest.approx(amount.quantile(float(q))), q
    assert sum(numeric["histogram"]["counts"]) == len(amount)
    assert numeric["outliers"]["count"] == _iqr_outliers(amount)
    assert numeric["outliers"]["approx"] is False
    assert columns["amount"]["distinct"] == amount.nunique()
    assert columns["merchant"]["distinct"] == expected["merchant"].nunique()
    top = expected["merchant"].value_counts()
    assert [(t["value"], t["count"]) for t in columns["merchant"]["top_values"]] == list(
        top.items()
    )


def test_it_tells_the_column_kinds(tmp_path: Path, frame) -> None:
    path = tmp_path / "tx.csv"
    frame.to_csv(path, index=False)
    kinds = {
        c["name"]: c["kind"] for c in file_profile(path=path, name="tx.csv")["column_profiles"]
    }
    assert kinds == {
        "amount": "numeric",
        "count": "numeric",
        "merchant": "categorical",
        "at": "datetime",
        "photo": "image",
        "clip": "audio",
        "comment": "text",
        "is_fraud": "boolean",
        "augmented": "numeric",
        "label_source": "categorical",
    }


@pytest.mark.recomputes(
    "dataset_completeness_pct",
    "dataset_rows_needing_imputation_pct",
    "dataset_augmented_pct",
    "dataset_outlier_pct",
)
def test_it_computes_the_dataset_shares(tmp_path: Path, frame) -> None:
    path = tmp_path / "tx.csv"
    frame.to_csv(path, index=False)
    dataset = file_profile(path=path, name="tx.csv")["dataset"]
    expected = pd.read_csv(path)
    cells = expected.size
    assert dataset["completeness_pct"] == pytest.approx(
        100 * (cells - expected.isna().sum().sum()) / cells
    )
    assert dataset["rows_needing_imputation_pct"] == pytest.approx(
        100 * expected.isna().any(axis=1).mean()
    )
    assert dataset["augmented_pct"] == pytest.approx(100 * expected["augmented"].mean())
    assert dataset["augmented_from"] == "augmented"
    labels = expected["label_source"].map(
        {"human": "human", "vendor": "third_party", "weak": "semi_supervised"}
    )
    for technique, share in (labels.value_counts(normalize=True) * 100).items():
        assert dataset["labeling_shares"][technique] == pytest.approx(share)
    assert dataset["kind_shares"]["numeric"] == pytest.approx(3 / 10)
    assert dataset["unstructured_share"] == pytest.approx(3 / 10)  # photo, clip, comment
    assert dataset["time_series"] == {"column": "at", "step_seconds": 900.0}
    assert dataset["newest_record_at"].startswith(expected["at"].max())
    numeric = expected[["amount", "count", "augmented"]]
    outliers = sum(_iqr_outliers(numeric[c].dropna()) for c in numeric)
    assert dataset["outlier_pct"] == pytest.approx(100 * outliers / numeric.notna().sum().sum())


def test_it_leaves_unknown_what_nothing_tells(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": ["a", "b", "a"]}).to_csv(path, index=False)
    dataset = file_profile(path=path, name="plain.csv")["dataset"]
    assert dataset["augmented_pct"] is None
    assert dataset["labeling_shares"] is None
    assert dataset["party_shares"] is None
    assert dataset["newest_record_at"] is None
    assert dataset["time_series"] is None


def test_it_takes_row_facts_from_the_uploaders_metadata(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    pd.DataFrame({"x": [1.0, 2.0, 3.0]}).to_csv(path, index=False)
    metadata = ProfileMetadata(augmented_pct=12.5, party="third_party", labeling="human")
    dataset = file_profile(path=path, name="plain.csv", metadata=metadata)["dataset"]
    assert dataset["augmented_pct"] == 12.5
    assert dataset["party_shares"] == {"third_party": 100.0}
    assert dataset["labeling_shares"] == {"human": 100.0}


def test_it_sees_no_time_series_in_shuffled_timestamps(tmp_path: Path, frame) -> None:
    path = tmp_path / "shuffled.csv"
    frame.sample(frac=1, random_state=1).to_csv(path, index=False)
    profile = file_profile(path=path, name="shuffled.csv")
    assert profile["dataset"]["time_series"] is None
    assert _by_name(profile)["at"]["kind"] == "datetime"


def test_gzip_and_parquet_give_the_csv_profile(tmp_path: Path, frame) -> None:
    csv_path = tmp_path / "tx.csv"
    frame.to_csv(csv_path, index=False)
    gz_path = tmp_path / "tx.csv.gz"
    gz_path.write_bytes(gzip.compress(csv_path.read_bytes()))
    parquet_path = tmp_path / "tx.parquet"
    pq.write_table(pa.Table.from_pandas(pd.read_csv(csv_path)), parquet_path, row_group_size=700)
    plain = _by_name(file_profile(path=csv_path, name="tx.csv"))
    for path in (gz_path, parquet_path):
        other = _by_name(file_profile(path=path, name=path.name))
        for name in ("amount", "count", "merchant"):
            assert other[name]["missing"] == plain[name]["missing"], (path, name)
            assert other[name]["distinct"] == plain[name]["distinct"], (path, name)
        assert other["amount"]["numeric"]["mean"] == pytest.approx(
            plain["amount"]["numeric"]["mean"]
        )


def test_a_column_that_turns_to_text_late_is_read_again_as_text(
    tmp_path: Path, monkeypatch
) -> None:
    # Small blocks, so the type is inferred from numbers before the word appears.
    monkeypatch.setattr(readers_module, "CSV_BLOCK_BYTES", 1024)
    path = tmp_path / "late.csv"
    values = [str(i) for i in range(2000)] + ["n/a-ish"]
    path.write_text("code\n" + "\n".join(values) + "\n")
    profile = file_profile(path=path, name="late.csv")
    assert profile["rows"] == 2001
    assert profile["column_profiles"][0]["kind"] == "categorical"
    assert profile["column_profiles"][0]["missing"] == 0


def test_the_reservoir_keeps_every_value_up_to_its_capacity_then_samples() -> None:
    reservoir = Reservoir(capacity=1000)
    reservoir.add(np.arange(600.0))
    reservoir.add(np.arange(600.0, 1000.0))
    assert reservoir.exact
    assert sorted(reservoir.sample()) == list(np.arange(1000.0))
    for start in range(1000, 100_000, 10_000):
        reservoir.add(np.arange(float(start), start + 10_000.0))
    assert not reservoir.exact and len(reservoir.sample()) == 1000
    # A uniform sample of 0..99,999: its median is near 50,000.
    assert abs(np.median(reservoir.sample()) - 50_000) < 5_000


def test_distinct_counting_turns_approximate_past_its_limit_within_two_percent() -> None:
    counter = DistinctCounter(exact_limit=1000)
    for start in range(0, 200_000, 20_000):
        counter.add(np.arange(start, start + 20_000, dtype=np.float64))
        counter.add(np.arange(start, start + 20_000, dtype=np.float64))  # repeats
    assert counter.approx
    assert counter.count() == pytest.approx(200_000, rel=0.02)


def test_a_quoted_value_with_a_line_break_is_not_taken_for_a_ragged_row(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    frame = pd.DataFrame({"id": range(500), "note": ["one line"] * 499 + ["two\nlines"]})
    frame.to_csv(path, index=False)
    profile = file_profile(path=path, name="notes.csv")
    assert profile["rows"] == 500
    assert _by_name(profile)["note"]["distinct"] == 2
