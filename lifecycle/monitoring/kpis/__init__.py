"""Serving KPIs, read from the rollups through the catalog's serving read model
(`lifecycle.catalog.serving`): filtered rollups (and a sliver of raw events) in, typed
KPI values out.

A window [start, end) is cut into parts read at the coarsest granularity that fits: whole
days from day rollups, whole hours at its edges from hour rollups, and the partial hours
before the first and after the last whole hour from the raw events (summed by the
database, latencies bucketed by it too) — except the bucket the end cuts, read whole from
its rollup when no event follows the end in it (`quiet_until`). Counts, errors and cost
are therefore exact for any window; latency percentiles come from the merged
log-bucketed histograms, within 0.5% of the exact value
(`lifecycle.catalog.serving.histograms`). Pandas only reshapes results.

The read model (scope, sums, series) is the catalog's, so that every phase reads the
rollups the same way; it is re-exported here for monitoring's callers. This package
keeps what is monitoring's own: `definitions` says what each number means, `summaries`
turns the sums into KPI values, `series` lays out the model-health page over time,
`labels` joins ground truth.
"""

from lifecycle.catalog.serving.scope import (
    ServingScope,
    quiet_until,
    rollup_segments,
    serving_scope,
)
from lifecycle.catalog.serving.series import (
    errors_by_class_series,
    latency_series,
    serving_series,
)
from lifecycle.catalog.serving.sums import (
    ERROR_COLUMNS,
    serving_histograms,
    serving_sums,
    serving_totals,
)
from lifecycle.monitoring.kpis.definitions import (
    COST_PER_1000,
    COST_USD,
    ERROR_RATE,
    ERRORS,
    ERRORS_BY_CLASS,
    INFERENCES,
    LABEL_COVERAGE,
    LABEL_DELAY_P50,
    LABEL_DELAY_P90,
    LATENCY_P50,
    LATENCY_P95,
    LATENCY_P99,
    PHASE,
    REQUEST_AVAILABILITY,
    SHADOW_COST_USD,
    SHADOW_INFERENCES,
    SLA_COMPLIANCE,
    THROUGHPUT_PER_DAY,
    THROUGHPUT_PER_HOUR,
    THROUGHPUT_PER_MINUTE,
    UPTIME,
)
from lifecycle.monitoring.kpis.labels import (
    LabelSummary,
    label_summary,
)
from lifecycle.monitoring.kpis.series import (
    HEALTH_KEYS,
    health_series,
)
from lifecycle.monitoring.kpis.shadows import ShadowCopies, shadow_copies_count
from lifecycle.monitoring.kpis.summaries import (
    EMPTY_SUMMARY,
    ServingBreakdown,
    ServingSummary,
    portfolio_sla_compliance,
    serving_breakdown,
    serving_summary,
    serving_summary_by,
)

__all__ = [
    "COST_PER_1000",
    "COST_USD",
    "EMPTY_SUMMARY",
    "ERRORS",
    "ERRORS_BY_CLASS",
    "ERROR_COLUMNS",
    "ERROR_RATE",
    "HEALTH_KEYS",
    "INFERENCES",
    "LABEL_COVERAGE",
    "LABEL_DELAY_P50",
    "LABEL_DELAY_P90",
    "LATENCY_P50",
    "LATENCY_P95",
    "LATENCY_P99",
    "PHASE",
    "REQUEST_AVAILABILITY",
    "SHADOW_COST_USD",
    "SHADOW_INFERENCES",
    "SLA_COMPLIANCE",
    "THROUGHPUT_PER_DAY",
    "THROUGHPUT_PER_HOUR",
    "THROUGHPUT_PER_MINUTE",
    "UPTIME",
    "LabelSummary",
    "ServingBreakdown",
    "ServingScope",
    "ServingSummary",
    "ShadowCopies",
    "errors_by_class_series",
    "health_series",
    "label_summary",
    "latency_series",
    "portfolio_sla_compliance",
    "quiet_until",
    "rollup_segments",
    "serving_breakdown",
    "serving_histograms",
    "serving_scope",
    "serving_series",
    "serving_summary",
    "serving_summary_by",
    "serving_sums",
    "serving_totals",
    "shadow_copies_count",
]
