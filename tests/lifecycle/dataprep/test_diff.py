"""Profile diffs: injected shifts and schema changes are flagged, resamples are not; PSI
and the KS statistic agree with a direct computation on the raw data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ingestion.profiling import file_profile
from lifecycle.dataprep.kpis import profile_diff

N = 5_000


def _population(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": rng.lognormal(3, 0.5, N),
            "age": rng.normal(40, 12, N).round(),
            "merchant": rng.choice(["shop", "fuel", "food", "travel"], N, p=[0.4, 0.3, 0.2, 0.1]),
            "channel": rng.choice(["web", "app"], N, p=[0.6, 0.4]),
        }
    )


def _profile(tmp_path: Path, frame: pd.DataFrame, name: str) -> dict:
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    return file_profile(path=path, name=path.name)


def _diff(tmp_path: Path, base: pd.DataFrame, new: pd.DataFrame):
    diff = profile_diff(base=_profile(tmp_path, base, "base"), new=_profile(tmp_path, new, "new"))
    return diff, {c.name: c for c in diff.columns}


@pytest.mark.parametrize("seed", [11, 12, 13, 14, 15])
def test_it_stays_quiet_on_a_resample_of_the_same_data(tmp_path: Path, seed: int) -> None:
    base = _population(seed)
    resample = base.sample(frac=1.0, replace=True, random_state=seed)
    diff, _ = _diff(tmp_path, base, resample)
    assert diff.flagged == []


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_it_stays_quiet_on_a_fresh_draw_from_the_same_population(tmp_path, seed) -> None:
    diff, _ = _diff(tmp_path, _population(seed), _population(seed + 100))
    assert diff.flagged == []


def test_it_flags_a_shifted_numeric_column_only(tmp_path: Path) -> None:
    base = _population(1)
    new = _population(2)
    new["age"] = new["age"] + 8  # two thirds of a standard deviation
    diff, columns = _diff(tmp_path, base, new)
    assert [c.name for c in diff.flagged] == ["age"]
    assert columns["age"].test == "ks" and columns["age"].p_value < 1e-6


def test_it_flags_a_changed_category_mix(tmp_path: Path) -> None:
    base = _population(1)
    new = _population(2)
    rng = np.random.default_rng(5)
    new["channel"] = rng.choice(["web", "app"], N, p=[0.3, 0.7])
    diff, columns = _diff(tmp_path, base, new)
    assert [c.name for c in diff.flagged] == ["channel"]
    assert columns["channel"].test == "chi_square"


def test_it_flags_a_jump_in_missing_values(tmp_path: Path) -> None:
    base = _population(1)
    new = _population(2)
    new.loc[new.sample(frac=0.2, random_state=3).index, "merchant"] = None
    _, columns = _diff(tmp_path, base, new)
    assert columns["merchant"].missing_pct_change == pytest.approx(20.0)
    assert columns["merchant"].flagged


def test_it_flags_added_removed_and_rekinded_columns_as_schema_changes(tmp_path: Path) -> None:
    base = _population(1)
    new = _population(2).drop(columns=["channel"])
    new["device"] = "ios"
    new["age"] = new["age"].map(lambda a: f"age {a:.0f} years")
    diff, columns = _diff(tmp_path, base, new)
    assert diff.schema_changed
    assert columns["channel"].schema_change == "removed"
    assert columns["device"].schema_change == "added"
    assert columns["age"].schema_change == "kind changed"
    assert (columns["age"].base_kind, columns["age"].new_kind) == ("numeric", "categorical")
    assert not columns["amount"].flagged


@pytest.mark.recomputes("profile_psi")
def test_psi_and_ks_match_a_direct_computation_on_the_raw_values(tmp_path: Path) -> None:
    base = _population(1)
    new = _population(2)
    new["amount"] = new["amount"] * 1.3
    _, columns = _diff(tmp_path, base, new)
    # Direct: the base's deciles as bins, proportions in each, PSI; scipy's KS statistic.
    edges = np.quantile(base["amount"], np.linspace(0.1, 0.9, 9))
    bins = np.concatenate(([-np.inf], edges, [np.inf]))
    p = np.histogram(base["amount"], bins)[0] / N
    q = np.histogram(new["amount"], bins)[0] / N
    psi = float(np.sum((q - p) * np.log(q / p)))
    ks = stats.ks_2samp(base["amount"], new["amount"]).statistic
    assert columns["amount"].psi == pytest.approx(psi, rel=0.05)
    assert columns["amount"].statistic == pytest.approx(ks, abs=0.015)


@pytest.mark.recomputes("profile_shift_p_value")
def test_the_chi_square_test_matches_scipy_on_the_raw_counts(tmp_path: Path) -> None:
    base = _population(1)
    new = _population(2)
    _, columns = _diff(tmp_path, base, new)
    table = pd.crosstab(
        np.r_[np.zeros(N), np.ones(N)], pd.concat([base["merchant"], new["merchant"]]).values
    )
    expected_p = stats.chi2_contingency(table.values)[1]
    assert columns["merchant"].p_value == pytest.approx(expected_p)


def test_identifier_columns_get_no_category_test(tmp_path: Path) -> None:
    base = _population(1).assign(tx_id=[f"tx-{i}" for i in range(N)])
    new = _population(2).assign(tx_id=[f"tx-{i}" for i in range(N, 2 * N)])
    _, columns = _diff(tmp_path, base, new)
    assert columns["tx_id"].test is None and not columns["tx_id"].flagged
