"""One streaming accumulator per column: batches of Arrow arrays in, a column profile out."""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.tseries.api import guess_datetime_format

from ingestion.profiling.sketches import DistinctCounter, Reservoir, TopValues
from lifecycle.dataprep import profiles as fmt

TOP_N = 10
STRING_SAMPLE = 20_000
HISTOGRAM_BINS = 20
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
# A share of the non-missing values at or above which a string column is given a kind.
MEDIA_SHARE = 0.8
DATETIME_SHARE = 0.95
# Text, not categories: mostly values with a blank and mostly distinct, or long values.
TEXT_WORDY_SHARE = 0.5
TEXT_DISTINCT_RATIO = 0.5
TEXT_MEAN_LENGTH = 50
# Time series: a datetime column that never goes back in file order (ties allowed) and
# whose most common step between consecutive distinct values covers this share of steps.
TIME_SERIES_STEP_SHARE = 0.9
MAX_STEPS_TRACKED = 1_000

_MEDIA_EXTENSIONS = {
    fmt.IMAGE: ("png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp", "svg", "heic"),
    fmt.AUDIO: ("wav", "mp3", "flac", "ogg", "m4a", "aac", "opus", "wma"),
    fmt.VIDEO: ("mp4", "mov", "avi", "mkv", "webm", "m4v", "mpeg", "mpg", "wmv"),
}
# A path or URL whose last segment ends in the extension (a query string may follow).
_MEDIA_PATTERNS = {
    kind: rf"^\S*\.({'|'.join(exts)})(\?\S*)?$" for kind, exts in _MEDIA_EXTENSIONS.items()
}


def _physical(type_: pa.DataType) -> str:
    if pa.types.is_integer(type_) or pa.types.is_floating(type_) or pa.types.is_decimal(type_):
        return "number"
    if pa.types.is_boolean(type_):
        return "bool"
    if pa.types.is_timestamp(type_) or pa.types.is_date(type_):
        return "datetime"
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return "string"
    if pa.types.is_dictionary(type_) and (
        pa.types.is_string(type_.value_type) or pa.types.is_large_string(type_.value_type)
    ):
        return "string"
    return "other"


def _datetime_ns(array: pa.Array) -> pa.Array:
    if pa.types.is_date(array.type):
        array = array.cast(pa.timestamp("ms"))
    unit_ns = pa.timestamp("ns", tz=array.type.tz) if array.type.tz else pa.timestamp("ns")
    return array.cast(unit_ns).cast(pa.int64())


def _iso(ns: int | None) -> str | None:
    if ns is None:
        return None
    return pd.Timestamp(ns, unit="ns", tz="UTC").isoformat()


class ColumnAccumulator:
    def __init__(self, name: str, type_: pa.DataType) -> None:
        self.name = name
        self.physical = _physical(type_)
        self.rows = 0
        self.missing = 0
        self.distinct = DistinctCounter()
        self.top = TopValues()
        self.reservoir: Reservoir | None = None
        # numbers
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.min: float | None = None
        self.max: float | None = None
        self.integral = pa.types.is_integer(type_)
        # datetimes (as ns since the epoch, UTC)
        self.datetime_format: str | None = None
        self.last_ns: int | None = None
        self.backwards = 0
        self.steps: dict[int, int] | None = {}
        # strings
        self.length_sum = 0
        self.wordy = 0
        self.media = dict.fromkeys(fmt.MEDIA_KINDS, 0)
        self.media_candidates = list(fmt.MEDIA_KINDS)
        self.media_checked = False
        self.string_checked = False
        if self.physical == "number":
            self.reservoir = Reservoir()
        elif self.physical == "string":
            # Strings need a sample only for top values past exact counting: a smaller one.
            self.reservoir = Reservoir(STRING_SAMPLE, dtype=object)

    # --- feeding -----------------------------------------------------------------------

    def add(self, array: pa.Array) -> np.ndarray:
        """Take one batch; return its missing mask (True where the value is missing)."""
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        self.rows += len(array)
        if self.physical == "string" and not self.string_checked:
            self._string_decide(array)
        if self.physical == "number":
            return self._add_numbers(array)
        if self.physical == "datetime":
            return self._add_datetimes(array)
        if self.physical == "datetime_string":
            return self._add_datetime_strings(array)
        mask = array.is_null().to_numpy(zero_copy_only=False)
        self.missing += int(mask.sum())
        valid = array.drop_null()
        if self.physical == "bool":
            self.top.add_arrow(valid)
            self.distinct.add(np.asarray(valid.to_numpy(zero_copy_only=False), dtype=np.int8))
        elif self.physical == "string":
            self._add_strings(valid)
        return mask

    def _add_numbers(self, array: pa.Array) -> np.ndarray:
        values = array.cast(pa.float64()).to_numpy(zero_copy_only=False)
        mask = np.isnan(values)  # nulls arrive as NaN, and a NaN in the data is missing too
        self.missing += int(mask.sum())
        valid = values[~mask]
        if len(valid):
            count = len(valid)
            batch_mean = float(valid.mean())
            batch_m2 = float(((valid - batch_mean) ** 2).sum())
            # Chan et al.'s pairwise update keeps mean and variance exact and stable.
            total = self.n + count
            delta = batch_mean - self.mean
            self.mean += delta * count / total
            self.m2 += batch_m2 + delta * delta * self.n * count / total
            self.n = total
            low, high = float(valid.min()), float(valid.max())
            self.min = low if self.min is None else min(self.min, low)
            self.max = high if self.max is None else max(self.max, high)
            self.reservoir.add(valid)
            self.distinct.add(valid)
            if not self.top.overflowed:
                self.top.add_arrow(pa.array(valid))
        return mask

    def _add_ns(self, ns: np.ndarray) -> None:
        if not len(ns):
            return
        low, high = int(ns.min()), int(ns.max())
        self.min = low if self.min is None else min(self.min, low)
        self.max = high if self.max is None else max(self.max, high)
        self.n += len(ns)
        self.distinct.add(ns)
        if self.steps is None:
            return
        seq = ns if self.last_ns is None else np.concatenate(([self.last_ns], ns))
        self.last_ns = int(ns[-1])
        steps = np.diff(seq)
        self.backwards += int((steps < 0).sum())
        forward = steps[steps > 0]
        if len(forward):
            uniques, counts = np.unique(forward, return_counts=True)
            for step, count in zip(uniques.tolist(), counts.tolist(), strict=True):
                self.steps[step] = self.steps.get(step, 0) + count
            if len(self.steps) > MAX_STEPS_TRACKED:
                self.steps = None  # irregular: no time series, stop tracking

    def _add_datetimes(self, array: pa.Array) -> np.ndarray:
        mask = array.is_null().to_numpy(zero_copy_only=False)
        self.missing += int(mask.sum())
        self._add_ns(_datetime_ns(array.drop_null()).to_numpy())
        return mask

    def _add_datetime_strings(self, array: pa.Array) -> np.ndarray:
        series = pd.Series(array.to_numpy(zero_copy_only=False), dtype=object)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(series, format=self.datetime_format, errors="coerce", utc=True)
        # A value that does not parse as a date counts as missing.
        mask = parsed.isna().to_numpy()
        self.missing += int(mask.sum())
        ns = parsed[~mask].dt.tz_convert(None).to_numpy().astype("datetime64[ns]")
        self._add_ns(ns.view(np.int64))
        return mask

    def _add_strings(self, valid: pa.Array) -> None:
        if not len(valid):
            return
        self.length_sum += int(pc.sum(pc.utf8_length(valid)).as_py() or 0)
        self.wordy += int(pc.sum(pc.match_substring(valid, " ")).as_py() or 0)
        for kind in self.media_candidates:
            hits = pc.match_substring_regex(valid, _MEDIA_PATTERNS[kind], ignore_case=True)
            self.media[kind] += int(pc.sum(hits).as_py() or 0)
        if not self.media_checked:
            # Media references are looked for beyond the first batch only in columns where
            # it holds some: the regular expressions are the costliest part of a string.
            self.media_candidates = [k for k, n in self.media.items() if n >= 0.5 * len(valid)]
            self.media_checked = True
        if self.distinct.approx and self.top.overflowed:
            # Many distinct values: no exact counts to keep, only the sketch to feed.
            self.distinct.add(valid.to_numpy(zero_copy_only=False))
            self.top.total += len(valid)
        else:
            counts = pc.value_counts(valid)
            uniques = counts.field("values").to_numpy(zero_copy_only=False)
            self.distinct.add(uniques.astype(object))
            self.top.add_counts(uniques, counts.field("counts").to_numpy())
        self.reservoir.add_indexed(
            len(valid), lambda idx: valid.take(pa.array(idx)).to_numpy(zero_copy_only=False)
        )

    def _string_decide(self, array: pa.Array) -> None:
        """Strings that are dates in one format throughout are read as datetimes."""
        sample = array.drop_null().slice(0, 1000).to_pylist()
        if not sample:
            return
        self.string_checked = True
        fmt_guess = guess_datetime_format(sample[0])
        if fmt_guess is None:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(pd.Series(sample), format=fmt_guess, errors="coerce")
        if parsed.notna().mean() >= DATETIME_SHARE:
            self.physical = "datetime_string"
            self.datetime_format = fmt_guess
            self.reservoir = None

    # --- the profile ---------------------------------------------------------------------

    def kind(self) -> str:
        if self.physical == "number":
            return fmt.NUMERIC
        if self.physical == "bool":
            return fmt.BOOLEAN
        if self.physical in ("datetime", "datetime_string"):
            return fmt.DATETIME
        if self.physical != "string":
            return fmt.OTHER
        present = self.rows - self.missing
        if not present:
            return fmt.CATEGORICAL
        media_kind, media_count = max(self.media.items(), key=lambda kv: kv[1])
        if media_count >= MEDIA_SHARE * present:
            return media_kind
        distinct_ratio = self.distinct.count() / present
        wordy = self.wordy / present >= TEXT_WORDY_SHARE and distinct_ratio >= TEXT_DISTINCT_RATIO
        if wordy or self.length_sum / present >= TEXT_MEAN_LENGTH:
            return fmt.TEXT
        return fmt.CATEGORICAL

    def time_series_step(self) -> float | None:
        """Seconds between consecutive records when this column is a regular time series."""
        if self.kind() != fmt.DATETIME or not self.steps or self.backwards:
            return None
        step, count = max(self.steps.items(), key=lambda kv: kv[1])
        if count < TIME_SERIES_STEP_SHARE * sum(self.steps.values()):
            return None
        return step / 1e9

    def profile(self) -> dict[str, Any]:
        kind = self.kind()
        out = fmt.column_profile_blank(name=self.name, kind=kind)
        out["count"] = self.rows
        out["missing"] = self.missing
        out["missing_pct"] = 100.0 * self.missing / self.rows if self.rows else None
        out["distinct"] = self.distinct.count()
        out["distinct_approx"] = self.distinct.approx
        if kind == fmt.NUMERIC:
            out["numeric"] = self._numeric_profile()
        elif kind == fmt.DATETIME:
            step = self.time_series_step()
            out["datetime"] = {
                "min": _iso(self.min),
                "max": _iso(self.max),
                "time_series": step is not None,
                "step_seconds": step,
            }
        if kind in (fmt.CATEGORICAL, fmt.BOOLEAN, fmt.TEXT, *fmt.MEDIA_KINDS):
            sample = self.reservoir.sample() if self.reservoir is not None else None
            top, exact = self.top.top(TOP_N, sample)
            out["top_values"] = [{"value": _jsonable(v), "count": c} for v, c in top]
            out["top_values_approx"] = not exact
            present = self.rows - self.missing
            out["other_count"] = present - sum(c for _, c in top) if exact else None
        if self.physical == "string" and self.rows > self.missing:
            out["mean_length"] = self.length_sum / (self.rows - self.missing)
        return out

    def top_counts(self) -> dict[Any, int] | None:
        """Exact counts of every value, when there were few enough distinct ones."""
        return None if self.top.overflowed else dict(self.top.counts)

    def _numeric_profile(self) -> dict[str, Any] | None:
        if not self.n:
            return None
        sample = self.reservoir.sample()
        exact = self.reservoir.exact
        qs = np.quantile(sample, QUANTILES)
        q1, q3 = np.quantile(sample, [0.25, 0.75])
        iqr = q3 - q1
        outside = int(((sample < q1 - 1.5 * iqr) | (sample > q3 + 1.5 * iqr)).sum())
        outlier_pct = 100.0 * outside / len(sample)
        counts, edges = np.histogram(sample, bins=HISTOGRAM_BINS, range=(self.min, self.max))
        if not exact:
            counts = np.round(counts * (self.n / len(sample))).astype(int)
        return {
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            # Sample standard deviation (ddof=1), as pandas gives it.
            "std": float(np.sqrt(self.m2 / (self.n - 1))) if self.n > 1 else None,
            "integral": self.integral,
            "quantiles": {str(q): float(v) for q, v in zip(QUANTILES, qs, strict=True)},
            "quantiles_approx": not exact,
            "cdf": [float(v) for v in np.quantile(sample, np.linspace(0, 1, 101))],
            "histogram": {"edges": edges.tolist(), "counts": counts.tolist(), "approx": not exact},
            "outliers": {
                "rule": fmt.OUTLIER_RULE,
                "count": outside if exact else round(outlier_pct / 100 * self.n),
                "pct": outlier_pct,
                "approx": not exact,
                "sample_size": len(sample),
            },
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def column_name_matches(name: str, candidates: tuple[str, ...]) -> bool:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") in candidates
