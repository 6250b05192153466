"""The latency histogram against exact numpy percentiles."""

import numpy as np
import pytest

from lifecycle.catalog.latency import (
    RELATIVE_ERROR,
    HistogramSum,
    histogram_blobs_merge,
    histogram_count,
    histogram_decode,
    histogram_encode,
    histogram_from_latencies,
    histogram_quantiles,
)

QUANTILES = (0.5, 0.95, 0.99, 0.0, 1.0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentiles_stay_within_the_relative_error_bound(seed):
    rng = np.random.default_rng(seed)
    latencies = np.concatenate([rng.lognormal(3, 1.2, 5000), rng.uniform(0, 2, 50)])
    estimated = histogram_quantiles(histogram_from_latencies(latencies), QUANTILES)
    for q, value in zip(QUANTILES, estimated, strict=True):
        exact = np.percentile(latencies, q * 100)
        assert value == pytest.approx(exact, rel=RELATIVE_ERROR + 1e-12, abs=1e-3)
    assert RELATIVE_ERROR < 0.005


def test_merging_parts_equals_the_histogram_of_the_whole():
    rng = np.random.default_rng(7)
    latencies = rng.lognormal(2, 0.8, 3000)
    parts = [histogram_encode(histogram_from_latencies(p)) for p in np.array_split(latencies, 7)]
    merged = histogram_blobs_merge(parts)
    whole = histogram_from_latencies(latencies)
    assert np.array_equal(merged[0], whole[0]) and np.array_equal(merged[1], whole[1])
    assert histogram_count(merged) == 3000


def test_a_running_sum_grows_both_ways_and_takes_blobs_and_counts_alike():
    """Parts far apart on the index axis (sub-millisecond, seconds, zeros), added in an
    order that makes the running array grow at both ends, stored and unstored."""
    rng = np.random.default_rng(11)
    parts = [
        rng.lognormal(3, 0.3, 400),  # around 20 ms
        rng.uniform(0.002, 0.01, 50),  # below the first part's range
        rng.lognormal(8, 0.2, 30),  # seconds: above it
        np.zeros(5),  # zero latencies have their own bucket
        np.array([]),
    ]
    total = HistogramSum()
    for i, latencies in enumerate(parts):
        histogram = histogram_from_latencies(latencies)
        if i % 2:
            total.add(histogram)
        else:
            total.add_blob(histogram_encode(histogram))
    merged = total.histogram()
    whole = histogram_from_latencies(np.concatenate(parts))
    assert np.array_equal(merged[0], whole[0]) and np.array_equal(merged[1], whole[1])
    assert histogram_count(HistogramSum().histogram()) == 0


def test_it_round_trips_through_bytes_and_reads_zero_as_zero():
    histogram = histogram_from_latencies(np.array([0.0, 0.0, 5.0]))
    decoded = histogram_decode(histogram_encode(histogram))
    assert histogram_quantiles(decoded, [0.0, 0.5]) == [0.0, 0.0]


def test_an_empty_histogram_has_no_percentiles():
    assert histogram_quantiles(histogram_blobs_merge([]), [0.5]) == [None]


@pytest.mark.parametrize("count", [3, 300, 70_000, 5_000_000])
def test_any_count_survives_the_compact_encoding(count):
    histogram = (np.array([-32768, -5, 12, 400], dtype=np.int16), np.array([2, count, 1, 7]))
    indexes, counts = histogram_decode(histogram_encode(histogram))
    assert indexes.tolist() == [-32768, -5, 12, 400]
    assert counts.tolist() == [2, count, 1, 7]


def test_the_encoding_is_smaller_than_index_count_pairs():
    latencies = np.random.default_rng(1).lognormal(3, 0.6, 20_000)
    histogram = histogram_from_latencies(latencies)
    assert len(histogram_encode(histogram)) < 6 * len(histogram[0]) / 2
