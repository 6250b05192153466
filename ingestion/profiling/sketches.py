"""Fixed-memory summaries of a column seen batch by batch.

Each is exact while the data is small and turns approximate past a stated size, so memory
stays flat whatever the file's size:

* `Reservoir`: a uniform sample of at most `capacity` values (Vitter's algorithm R,
  vectorised); quantiles, histograms and outlier shares come from it. With no more values
  than the capacity it holds them all and everything computed from it is exact.
* `DistinctCounter`: exact distinct values up to `exact_limit`, then HyperLogLog
  (2^14 registers, about 0.8% standard error).
* `TopValues`: exact value counts up to `exact_limit` distinct values, then the counts
  seen so far are kept for the most frequent and the rest estimated from the sample.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

RESERVOIR_CAPACITY = 100_000
DISTINCT_EXACT_LIMIT = 100_000
TOP_VALUES_EXACT_LIMIT = 20_000
HLL_P = 14

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def hash64(values: np.ndarray) -> np.ndarray:
    """64-bit hashes: splitmix64 of the bits for numbers, pandas' hash for other values."""
    if values.dtype.kind in "fiumM":
        x = (
            np.ascontiguousarray(values).view(np.uint64).copy()
            if values.itemsize == 8
            else (values.astype(np.float64).view(np.uint64).copy())
        )
        with np.errstate(over="ignore"):
            x += np.uint64(0x9E3779B97F4A7C15)
            x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            x = x ^ (x >> np.uint64(31))
        return x & _MASK64
    return pd.util.hash_array(values.astype(object), categorize=False)


class HyperLogLog:
    def __init__(self, p: int = HLL_P) -> None:
        self.p = p
        self.m = 1 << p
        self.registers = np.zeros(self.m, dtype=np.uint8)

    def add_hashes(self, hashes: np.ndarray) -> None:
        if not len(hashes):
            return
        index = (hashes >> np.uint64(64 - self.p)).astype(np.int64)
        # The remaining bits, with a sentinel so a run of zeros stops at 64 - p.
        rest = (hashes << np.uint64(self.p)) | np.uint64(1 << (self.p - 1))
        exponent = np.floor(np.log2(rest.astype(np.float64))).astype(np.int64)
        # float64 may round a value just under 2^k up to 2^k: correct by one.
        exponent -= (rest >> exponent.astype(np.uint64)) == 0
        rank = (64 - exponent).astype(np.uint8)
        np.maximum.at(self.registers, index, rank)

    def estimate(self) -> float:
        m = self.m
        alpha = 0.7213 / (1 + 1.079 / m)
        raw = alpha * m * m / np.sum(np.power(2.0, -self.registers.astype(np.float64)))
        zeros = int(np.count_nonzero(self.registers == 0))
        if raw <= 2.5 * m and zeros:
            return m * np.log(m / zeros)  # linear counting for small cardinalities
        return float(raw)


class DistinctCounter:
    def __init__(self, exact_limit: int = DISTINCT_EXACT_LIMIT) -> None:
        self.exact_limit = exact_limit
        self.exact: np.ndarray | None = None
        self.hll: HyperLogLog | None = None

    @property
    def approx(self) -> bool:
        return self.hll is not None

    def add(self, values: np.ndarray) -> None:
        """`values`: the batch's non-missing values (numbers, or objects as strings)."""
        if not len(values):
            return
        if self.hll is not None:
            # HyperLogLog ignores repeats, so no need to find the batch's unique values.
            self.hll.add_hashes(hash64(values))
            return
        # pd.unique hashes instead of sorting: much faster than np.unique on big batches.
        batch = pd.unique(values)
        merged = batch if self.exact is None else pd.unique(np.concatenate([self.exact, batch]))
        self.exact = np.asarray(merged)
        if len(self.exact) > self.exact_limit:
            self.hll = HyperLogLog()
            self.hll.add_hashes(hash64(self.exact))
            self.exact = None

    def count(self) -> int:
        if self.hll is not None:
            return round(self.hll.estimate())
        return 0 if self.exact is None else len(self.exact)


class Reservoir:
    def __init__(
        self,
        capacity: int = RESERVOIR_CAPACITY,
        *,
        dtype: object = np.float64,
        seed: int = 20240601,
    ) -> None:
        self.capacity = capacity
        self.values = np.empty(capacity, dtype=dtype)
        self.filled = 0
        self.seen = 0
        self.rng = np.random.default_rng(seed)

    @property
    def exact(self) -> bool:
        return self.seen <= self.capacity

    def add(self, values: np.ndarray) -> None:
        self.add_indexed(len(values), lambda index: values[index])

    def add_indexed(self, n: int, take: Callable[[np.ndarray], np.ndarray]) -> None:
        """Offer n values; `take(positions)` fetches only the ones kept, so a batch of
        strings need not be converted whole."""
        if not n:
            return
        fill = min(self.capacity - self.filled, n)
        if fill:
            self.values[self.filled : self.filled + fill] = take(np.arange(fill))
            self.filled += fill
        if n > fill:
            # Item number i (1-based, counted over the whole column) replaces a random slot
            # with probability capacity / i; a later item overwrites an earlier one in the
            # same slot, as the sequential algorithm would.
            positions = np.arange(self.seen + fill + 1, self.seen + n + 1, dtype=np.int64)
            slots = (self.rng.random(n - fill) * positions).astype(np.int64)
            keep = np.flatnonzero(slots < self.capacity)
            if len(keep):
                self.values[slots[keep]] = take(keep + fill)
        self.seen += n

    def sample(self) -> np.ndarray:
        return self.values[: self.filled]


class TopValues:
    def __init__(self, exact_limit: int = TOP_VALUES_EXACT_LIMIT) -> None:
        self.exact_limit = exact_limit
        self.counts: dict[object, int] = {}
        self.overflowed = False
        self.total = 0

    def add_arrow(self, values: pa.Array) -> None:
        """`values`: a batch's non-missing values."""
        if self.overflowed:
            self.total += len(values)
            return
        counts = pc.value_counts(values)
        self.add_counts(
            counts.field("values").to_numpy(zero_copy_only=False), counts.field("counts").to_numpy()
        )

    def add_counts(self, values: np.ndarray, counts: np.ndarray) -> None:
        self.total += int(counts.sum())
        if self.overflowed:
            return
        if len(values) > self.exact_limit:
            self.overflowed, self.counts = True, {}
            return
        for value, count in zip(values.tolist(), counts.tolist(), strict=True):
            self.counts[value] = self.counts.get(value, 0) + count
        if len(self.counts) > self.exact_limit:
            # Too many distinct values to count exactly: top values then come from the
            # sample (see `top`), and exact counting stops.
            self.overflowed = True
            self.counts = {}

    def top(self, n: int, sample: np.ndarray | None) -> tuple[list[tuple[object, int]], bool]:
        """The n most frequent values with their counts, and whether the counts are exact."""
        if not self.overflowed:
            ranked = sorted(self.counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
            return ranked[:n], True
        if sample is None or not len(sample):
            return [], False
        scale = self.total / len(sample)
        counts = pd.Series(sample).value_counts()
        return [(v, round(c * scale)) for v, c in counts.head(n).items()], False
