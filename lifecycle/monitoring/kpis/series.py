"""The model-health page's serving numbers over time; the generic series are the read
model's (`lifecycle.catalog.serving.series`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lifecycle.catalog.serving.scope import ServingScope
from lifecycle.catalog.serving.series import series_granularity
from lifecycle.catalog.serving.sums import (
    ERROR_COLUMNS,
    QUANTILES,
    latency_percentiles,
    serving_histograms,
    serving_sums,
)

HEALTH_KEYS = ("model_version__version", "endpoint__name")


def health_series(scope: ServingScope) -> dict[str, pd.DataFrame]:
    """Per version and endpoint and time bucket: inferences, errors by failure class and
    latency percentiles, for the model-health page."""
    granularity = series_granularity(scope.time_range)
    sums = serving_sums(scope, group_by=HEALTH_KEYS, series=granularity)
    histograms = serving_histograms(scope, group_by=HEALTH_KEYS, series=granularity)
    latency = pd.DataFrame(
        [
            {"version": v, "endpoint": e, "bucket": b, **latency_percentiles(h)}
            for (v, e, b), h in histograms.items()
        ],
        columns=["version", "endpoint", "bucket", *QUANTILES],
    )
    sums = sums.rename(columns={"model_version__version": "version", "endpoint__name": "endpoint"})
    if not sums.empty:
        sums[["inferences", "errors", *ERROR_COLUMNS]] = sums[
            ["inferences", "errors", *ERROR_COLUMNS]
        ].astype(np.int64)
    errors = (
        sums.melt(
            id_vars=["bucket"],
            value_vars=list(ERROR_COLUMNS),
            var_name="error_type",
            value_name="n",
        )
        .groupby(["bucket", "error_type"], as_index=False)["n"]
        .sum()
        if not sums.empty
        else pd.DataFrame(columns=["bucket", "error_type", "n"])
    )
    errors["error_type"] = errors["error_type"].map(ERROR_COLUMNS)
    errors = errors[errors["n"] > 0].rename(columns={"n": "errors"})
    return {
        "throughput": sums.sort_values("bucket") if not sums.empty else sums,
        "latency": latency.sort_values("bucket"),
        "errors": errors.sort_values("bucket"),
    }
