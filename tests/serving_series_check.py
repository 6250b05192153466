"""The tests' own recomputation of a day's 5-minute serving series, in pandas from the
raw rows, compared with what the serving read model draws."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lifecycle.catalog.serving.scope import ServingScope
from lifecycle.catalog.serving.series import latency_series, serving_series


def five_minute_series_assert(scope: ServingScope, raw: pd.DataFrame) -> None:
    """`scope`'s inferences, errors and latency p95 per 5 minutes equal those of `raw`
    (the events it stands for: `timestamp`, `status`, `latency_ms`), every bucket of the
    window drawn, an empty one as zeros."""
    start, end = pd.Timestamp(scope.time_range.start), pd.Timestamp(scope.time_range.end)
    raw = raw[(raw.timestamp >= start) & (raw.timestamp < end)]
    raw = raw.set_index(pd.DatetimeIndex(raw.timestamp).tz_convert("UTC"))
    buckets = pd.date_range(start, end, freq="5min", inclusive="left")
    expected = pd.DataFrame(
        {
            "inferences": raw.status.resample("5min").size(),
            "errors": (raw.status == "error").resample("5min").sum(),
        }
    ).reindex(buckets, fill_value=0)
    got = serving_series(scope).set_index("bucket")[["inferences", "errors"]]
    assert len(got) == len(buckets) >= 24 * 12
    assert got.to_dict() == expected.astype(np.int64).to_dict()
    p95 = raw.loc[raw.status == "ok", "latency_ms"].resample("5min").quantile(0.95).dropna()
    # A bucket in which nothing succeeded has no latency.
    latency = latency_series(scope).set_index("bucket")["p95"].dropna()
    assert list(latency.index) == list(p95.index)
    assert np.allclose(latency.to_numpy(), p95.to_numpy(), rtol=0.01)
