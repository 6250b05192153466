"""The latency histogram's codec, kept importable here for the migrations that were
written against this module; the code lives in `lifecycle.catalog.serving.histograms`."""

from lifecycle.catalog.serving.histograms import (  # noqa: F401
    GAMMA,
    MIN_LATENCY_MS,
    RELATIVE_ERROR,
    ZERO_INDEX,
    Histogram,
    HistogramSum,
    histogram_blobs_merge,
    histogram_count,
    histogram_decode,
    histogram_encode,
    histogram_from_latencies,
    histogram_quantiles,
    histograms_merge,
    latency_bucket_expression,
    latency_bucket_indexes,
)
