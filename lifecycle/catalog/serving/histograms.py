"""A mergeable latency histogram with a relative-error bound.

Latencies fall into log-spaced buckets [GAMMA**i, GAMMA**(i+1)); a bucket is read back
as the point whose relative distance to both edges is (GAMMA-1)/(GAMMA+1), so every
value read back is within 0.5% of the true one for GAMMA = 1.01. Percentiles use the
same linear interpolation between ranks as numpy, over those read-back values, so they
keep the same bound. Merging is adding counts bucket by bucket, which is why any window
and filter can be answered from per-bucket rollups.

Stored compact, little-endian: one byte giving the width of the counts (1, 2 or 4
bytes, the smallest that holds the largest count), the count of zero latencies (uint32),
the first bucket index (int16), then one count per bucket from there to the last used
bucket. Latencies crowd into a few hundred neighbouring buckets, so this dense run of
small integers is several times smaller than index/count pairs, and a 30-day merge
reads a few megabytes less.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from django.db.models import Case, F, IntegerField, Value, When
from django.db.models.functions import Floor, Greatest, Least, Ln

GAMMA = 1.01
RELATIVE_ERROR = (GAMMA - 1) / (GAMMA + 1)
_LOG_GAMMA = math.log(GAMMA)
# Below a microsecond a latency is taken as zero (its own bucket, read back as 0).
MIN_LATENCY_MS = 1e-3
ZERO_INDEX = -32768
_MAX_INDEX = 32767

Histogram = tuple[np.ndarray, np.ndarray]  # (sorted int16 indexes, int64 counts)


def latency_bucket_indexes(latencies_ms: np.ndarray) -> np.ndarray:
    values = np.asarray(latencies_ms, dtype=np.float64)
    safe = np.maximum(values, MIN_LATENCY_MS)
    indexes = np.floor(np.log(safe) / _LOG_GAMMA)
    indexes = np.clip(indexes, ZERO_INDEX + 1, _MAX_INDEX).astype(np.int16)
    indexes[values < MIN_LATENCY_MS] = ZERO_INDEX
    return indexes


def histogram_from_latencies(latencies_ms: np.ndarray) -> Histogram:
    indexes, counts = np.unique(latency_bucket_indexes(latencies_ms), return_counts=True)
    return indexes.astype(np.int16), counts.astype(np.int64)


_WIDTHS = {1: "<u1", 2: "<u2", 4: "<u4"}


def histogram_encode(histogram: Histogram) -> bytes:
    indexes, counts = histogram
    indexes = np.asarray(indexes, dtype=np.int32)
    counts = np.asarray(counts, dtype=np.int64)
    zero = int(counts[indexes == ZERO_INDEX].sum())
    used = indexes != ZERO_INDEX
    indexes, counts = indexes[used], counts[used]
    first = int(indexes.min()) if len(indexes) else 0
    dense = np.zeros((int(indexes.max()) - first + 1) if len(indexes) else 0, dtype=np.int64)
    np.add.at(dense, indexes - first, counts)
    top = int(dense.max()) if len(dense) else 0
    width = 1 if top < 1 << 8 else 2 if top < 1 << 16 else 4
    header = np.array([width], dtype="<u1").tobytes()
    header += np.array([zero], dtype="<u4").tobytes() + np.array([first], dtype="<i2").tobytes()
    return header + dense.astype(_WIDTHS[width]).tobytes()


def histogram_decode(blob: bytes | memoryview) -> Histogram:
    raw = bytes(blob)
    width = raw[0]
    zero = int(np.frombuffer(raw, dtype="<u4", count=1, offset=1)[0])
    first = int(np.frombuffer(raw, dtype="<i2", count=1, offset=5)[0])
    dense = np.frombuffer(raw, dtype=_WIDTHS[width], offset=7)
    (positions,) = np.nonzero(dense)
    indexes = (positions + first).astype(np.int16)
    counts = dense[positions].astype(np.int64)
    if zero:
        indexes = np.concatenate([np.array([ZERO_INDEX], dtype=np.int16), indexes])
        counts = np.concatenate([np.array([zero], dtype=np.int64), counts])
    return indexes, counts


def histograms_merge(histograms: Iterable[Histogram]) -> Histogram:
    parts = list(histograms)
    if not parts:
        return np.zeros(0, dtype=np.int16), np.zeros(0, dtype=np.int64)
    indexes = np.concatenate([p[0] for p in parts]).astype(np.int32)
    counts = np.concatenate([p[1] for p in parts])
    # Shifted to be non-negative so bincount can add the counts of equal indexes.
    shifted = indexes - ZERO_INDEX
    summed = np.bincount(shifted, weights=counts)
    present = np.nonzero(summed)[0]
    return (present + ZERO_INDEX).astype(np.int16), summed[present].astype(np.int64)


class HistogramSum:
    """Histograms added up as they come, straight from their stored form.

    A 30-day portfolio adds a few thousand stored histograms; decoding each into index
    and count arrays first cost more than the adding. The stored counts are already a
    dense run from a first index, so each is one slice addition into a running dense
    array, which grows when a histogram reaches past it."""

    __slots__ = ("_counts", "_first", "_zero")

    def __init__(self) -> None:
        self._first = 0
        self._counts = np.zeros(0, dtype=np.int64)
        self._zero = 0

    def _reach(self, first: int, last: int) -> None:
        """Make the dense array cover indexes first..last (inclusive)."""
        if not len(self._counts):
            self._first, self._counts = first, np.zeros(last - first + 1, dtype=np.int64)
            return
        current_last = self._first + len(self._counts) - 1
        if first >= self._first and last <= current_last:
            return
        new_first, new_last = min(first, self._first), max(last, current_last)
        grown = np.zeros(new_last - new_first + 1, dtype=np.int64)
        grown[self._first - new_first : self._first - new_first + len(self._counts)] = self._counts
        self._first, self._counts = new_first, grown

    def add_blob(self, blob: bytes | memoryview) -> None:
        """Add one histogram in its stored encoding (see the module's docstring)."""
        raw = bytes(blob)
        self._zero += int.from_bytes(raw[1:5], "little")
        dense = np.frombuffer(raw, dtype=_WIDTHS[raw[0]], offset=7)
        if not len(dense):
            return
        first = int.from_bytes(raw[5:7], "little", signed=True)
        self._reach(first, first + len(dense) - 1)
        offset = first - self._first
        self._counts[offset : offset + len(dense)] += dense

    def add(self, histogram: Histogram) -> None:
        indexes, counts = histogram
        indexes = np.asarray(indexes, dtype=np.int32)
        counts = np.asarray(counts, dtype=np.int64)
        zero = indexes == ZERO_INDEX
        self._zero += int(counts[zero].sum())
        indexes, counts = indexes[~zero], counts[~zero]
        if not len(indexes):
            return
        self._reach(int(indexes.min()), int(indexes.max()))
        np.add.at(self._counts, indexes - self._first, counts)

    def histogram(self) -> Histogram:
        (positions,) = np.nonzero(self._counts)
        indexes = (positions + self._first).astype(np.int16)
        counts = self._counts[positions]
        if self._zero:
            indexes = np.concatenate([np.array([ZERO_INDEX], dtype=np.int16), indexes])
            counts = np.concatenate([np.array([self._zero], dtype=np.int64), counts])
        return indexes, counts


def histogram_blobs_merge(blobs: Iterable[bytes | memoryview]) -> Histogram:
    total = HistogramSum()
    for blob in blobs:
        total.add_blob(blob)
    return total.histogram()


def _bucket_value(indexes: np.ndarray) -> np.ndarray:
    values = 2.0 * np.power(GAMMA, indexes.astype(np.float64) + 1.0) / (GAMMA + 1.0)
    return np.where(indexes == ZERO_INDEX, 0.0, values)


def histogram_quantiles(histogram: Histogram, quantiles: Sequence[float]) -> list[float | None]:
    """Quantiles as numpy's default (linear) method would give over the read-back values."""
    indexes, counts = histogram
    total = int(counts.sum()) if len(counts) else 0
    if total == 0:
        return [None for _ in quantiles]
    cumulative = np.cumsum(counts)
    values = _bucket_value(indexes)
    result = []
    for q in quantiles:
        position = (total - 1) * q
        low = math.floor(position)
        high = min(low + 1, total - 1)
        # The bucket holding the element of 0-based rank r is the first whose running
        # count exceeds r.
        v_low, v_high = values[np.searchsorted(cumulative, [low, high], side="right")]
        result.append(float(v_low + (position - low) * (v_high - v_low)))
    return result


def histogram_count(histogram: Histogram) -> int:
    return int(histogram[1].sum())


def latency_bucket_expression(field: str) -> Case:
    """The bucket index of `field` computed by the database (same formula as
    `latency_bucket_indexes`), so events can be histogrammed with a GROUP BY."""
    bucket = Floor(Ln(Greatest(F(field), Value(MIN_LATENCY_MS))) / Value(_LOG_GAMMA))
    return Case(
        When(**{f"{field}__lt": MIN_LATENCY_MS}, then=Value(ZERO_INDEX)),
        default=Greatest(Least(bucket, Value(_MAX_INDEX)), Value(ZERO_INDEX + 1)),
        output_field=IntegerField(),
    )
