"""Profile diffs: per column of two profiles of one dataset, schema change, change in
missing % and distribution shift (PSI plus KS or chi-square)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

# A column is flagged as shifted when PSI says so, or when the test is significant AND the
# effect is large enough to matter: with big samples tiny differences are significant.
PSI_SHIFT = 0.2
P_VALUE_SHIFT = 0.01
KS_EFFECT = 0.1
CRAMERS_V_EFFECT = 0.1
MISSING_CHANGE_FLAG = 5.0
_EPS = 1e-4


@dataclass(frozen=True)
class ColumnDiff:
    name: str
    base_kind: str | None
    new_kind: str | None
    schema_change: str | None  # "added" | "removed" | "kind changed" | None
    missing_pct_change: float | None
    psi: float | None
    test: str | None  # "ks" | "chi_square"
    statistic: float | None
    p_value: float | None
    shifted: bool

    @property
    def flagged(self) -> bool:
        return (
            bool(self.schema_change)
            or self.shifted
            or (
                self.missing_pct_change is not None
                and abs(self.missing_pct_change) >= MISSING_CHANGE_FLAG
            )
        )


@dataclass(frozen=True)
class ProfileDiff:
    columns: list[ColumnDiff]

    @property
    def schema_changed(self) -> bool:
        return any(c.schema_change for c in self.columns)

    @property
    def flagged(self) -> list[ColumnDiff]:
        return [c for c in self.columns if c.flagged]


def _cdf(percentiles: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """A right-continuous CDF through the 101 percentile points (ties collapse upwards)."""
    q = np.asarray(percentiles, dtype=float)
    p = np.linspace(0, 1, len(q))
    xs, idx = np.unique(q[::-1], return_index=True)
    ps = p[::-1][idx]
    return xs, ps


def _cdf_at(cdf: tuple[np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    xs, ps = cdf
    return np.interp(x, xs, ps, left=0.0, right=1.0)


def _psi(base: np.ndarray, new: np.ndarray) -> float:
    base = np.clip(base, _EPS, None)
    new = np.clip(new, _EPS, None)
    return float(np.sum((new - base) * np.log(new / base)))


def _numeric_shift(base: dict, new: dict, n_base: int, n_new: int) -> tuple[float, float, float]:
    base_cdf, new_cdf = _cdf(base["cdf"]), _cdf(new["cdf"])
    edges = np.unique(np.asarray(base["cdf"])[10:100:10])
    base_p = np.diff(np.concatenate(([0.0], _cdf_at(base_cdf, edges), [1.0])))
    new_p = np.diff(np.concatenate(([0.0], _cdf_at(new_cdf, edges), [1.0])))
    points = np.union1d(base_cdf[0], new_cdf[0])
    d = float(np.max(np.abs(_cdf_at(base_cdf, points) - _cdf_at(new_cdf, points))))
    n_eff = max(1, round(n_base * n_new / (n_base + n_new)))
    p_value = float(stats.kstwo.sf(d, n_eff))
    return _psi(base_p, new_p), d, p_value


def _category_counts(column: dict) -> dict[str, int] | None:
    if not column.get("top_values"):
        return None
    counts = {str(t["value"]): int(t["count"]) for t in column["top_values"]}
    other = column.get("other_count")
    if other:
        counts["\0other"] = int(other)
    return counts


def _mostly_distinct(column: dict) -> bool:
    present = (column["count"] or 0) - (column["missing"] or 0)
    return column.get("distinct") is not None and column["distinct"] > 0.5 * present


def _categorical_shift(base: dict, new: dict) -> tuple[float, float, float] | None:
    # Identifiers and free text have no category mix to compare: no test rather than a
    # meaningless one over their ten most frequent (once-seen) values.
    if _mostly_distinct(base) or _mostly_distinct(new):
        return None
    base_counts, new_counts = _category_counts(base), _category_counts(new)
    if not base_counts or not new_counts:
        return None
    keys = sorted(set(base_counts) | set(new_counts))
    table = np.array([[base_counts.get(k, 0) for k in keys], [new_counts.get(k, 0) for k in keys]])
    table = table[:, table.sum(axis=0) > 0]
    psi = _psi(table[0] / table[0].sum(), table[1] / table[1].sum())
    if table.shape[1] < 2:
        return psi, 0.0, 1.0
    chi2, p_value, _, _ = stats.chi2_contingency(table)
    cramers_v = float(np.sqrt(chi2 / table.sum()))  # a 2 x k table has min(r, c) - 1 = 1
    return psi, cramers_v, float(p_value)


def profile_diff(*, base: dict, new: dict) -> ProfileDiff:
    """Per column of two profiles of one dataset: schema change, change in missing %, and
    distribution shift (PSI plus KS or chi-square)."""
    base_columns = {c["name"]: c for c in base["column_profiles"]}
    new_columns = {c["name"]: c for c in new["column_profiles"]}
    names = list(base_columns) + [n for n in new_columns if n not in base_columns]
    out = []
    for name in names:
        b, n = base_columns.get(name), new_columns.get(name)
        if b is None or n is None:
            out.append(
                ColumnDiff(
                    name,
                    b and b["kind"],
                    n and n["kind"],
                    "removed" if n is None else "added",
                    None,
                    None,
                    None,
                    None,
                    None,
                    False,
                )
            )
            continue
        missing_change = (
            n["missing_pct"] - b["missing_pct"]
            if n["missing_pct"] is not None and b["missing_pct"] is not None
            else None
        )
        if b["kind"] != n["kind"]:
            out.append(
                ColumnDiff(
                    name,
                    b["kind"],
                    n["kind"],
                    "kind changed",
                    missing_change,
                    None,
                    None,
                    None,
                    None,
                    False,
                )
            )
            continue
        psi = statistic = p_value = test = None
        shifted = False
        if (b.get("numeric") or {}).get("cdf") and (n.get("numeric") or {}).get("cdf"):
            n_base = b["count"] - (b["missing"] or 0)
            n_new = n["count"] - (n["missing"] or 0)
            psi, statistic, p_value = _numeric_shift(b["numeric"], n["numeric"], n_base, n_new)
            test = "ks"
            shifted = psi >= PSI_SHIFT or (p_value < P_VALUE_SHIFT and statistic >= KS_EFFECT)
        else:
            result = _categorical_shift(b, n)
            if result is not None:
                psi, statistic, p_value = result
                test = "chi_square"
                shifted = psi >= PSI_SHIFT or (
                    p_value < P_VALUE_SHIFT and statistic >= CRAMERS_V_EFFECT
                )
        out.append(
            ColumnDiff(
                name,
                b["kind"],
                n["kind"],
                None,
                missing_change,
                psi,
                test,
                statistic,
                p_value,
                shifted,
            )
        )
    return ProfileDiff(out)
