"""A mergeable latency histogram with a relative-error bound.

Latencies fall into log-spaced buckets [GAMMA**i, GAMMA**(i+1)); a bucket is read back
as the point whose relative distance to both edges is (GAMMA-1)/(GAMMA+1), so every
value read back is within 0.5% of the true one for GAMMA = 1.01. Percentiles use the
same linear interpolation between ranks as numpy, over those read-back values, so they
keep the same bound. Merging is adding counts bucket by bucket, which is why any window
and filter can be answered from per-bucket rollups.

Stored sparse and compact: int16 bucket indexes, then uint32 counts, little-endian.
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


def histogram_encode(histogram: Histogram) -> bytes:
    indexes, counts = histogram
    return indexes.astype("<i2").tobytes() + counts.astype("<u4").tobytes()


def histogram_decode(blob: bytes | memoryview) -> Histogram:
    raw = bytes(blob)
    n = len(raw) // 6
    indexes = np.frombuffer(raw, dtype="<i2", count=n)
    counts = np.frombuffer(raw, dtype="<u4", count=n, offset=2 * n).astype(np.int64)
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


def histogram_blobs_merge(blobs: Iterable[bytes | memoryview]) -> Histogram:
    return histograms_merge(histogram_decode(b) for b in blobs)


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
