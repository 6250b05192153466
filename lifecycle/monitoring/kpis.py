"""Serving KPIs: filtered serving events in, typed KPI values out.

Counts and error rates are aggregated in SQL; latency percentiles are exact, computed
with pandas over the successful events' latencies (linear interpolation, as numpy does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pandas as pd
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDay, TruncHour

from lifecycle.catalog.kpis import Direction, KpiValue, kpi_define
from lifecycle.catalog.models import EventStatus, ServingEvent
from lifecycle.catalog.windows import TimeRange

PHASE = "monitoring"

INFERENCES = kpi_define(
    id="inferences",
    phase=PHASE,
    label="Inferences",
    unit="count",
    direction=Direction.NEUTRAL,
    formula="Number of serving events (successful and failed) whose event time is in the window.",
)
THROUGHPUT_PER_MINUTE = kpi_define(
    id="throughput_per_minute",
    phase=PHASE,
    label="Inferences per minute",
    unit="1/min",
    direction=Direction.NEUTRAL,
    formula="Inferences divided by the length of the window in minutes.",
)
THROUGHPUT_PER_HOUR = kpi_define(
    id="throughput_per_hour",
    phase=PHASE,
    label="Inferences per hour",
    unit="1/h",
    direction=Direction.NEUTRAL,
    formula="Inferences divided by the length of the window in hours.",
)
THROUGHPUT_PER_DAY = kpi_define(
    id="throughput_per_day",
    phase=PHASE,
    label="Inferences per day",
    unit="1/d",
    direction=Direction.NEUTRAL,
    formula="Inferences divided by the length of the window in days.",
)
ERRORS = kpi_define(
    id="errors",
    phase=PHASE,
    label="Failed inferences",
    unit="count",
    direction=Direction.LOWER_IS_BETTER,
    formula="Number of serving events with status error (any failure class) in the window.",
)
ERROR_RATE = kpi_define(
    id="error_rate",
    phase=PHASE,
    label="Error rate",
    unit="fraction",
    direction=Direction.LOWER_IS_BETTER,
    formula="Failed inferences (status error, any failure class) divided by all inferences "
    "in the window; empty when there were none.",
)
LATENCY_P50 = kpi_define(
    id="latency_p50_ms",
    phase=PHASE,
    label="Latency p50",
    unit="ms",
    direction=Direction.LOWER_IS_BETTER,
    formula="Median latency of the successful inferences in the window "
    "(linear interpolation between ranks).",
)
LATENCY_P95 = kpi_define(
    id="latency_p95_ms",
    phase=PHASE,
    label="Latency p95",
    unit="ms",
    direction=Direction.LOWER_IS_BETTER,
    formula="95th percentile of the latency of the successful inferences in the window: "
    "95% were at least this fast (linear interpolation between ranks).",
)
LATENCY_P99 = kpi_define(
    id="latency_p99_ms",
    phase=PHASE,
    label="Latency p99",
    unit="ms",
    direction=Direction.LOWER_IS_BETTER,
    formula="99th percentile of the latency of the successful inferences in the window "
    "(linear interpolation between ranks).",
)

_QUANTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}


@dataclass(frozen=True)
class ServingSummary:
    inferences: int
    errors: int
    latency_ms: dict[str, float | None]

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.inferences if self.inferences else None

    def kpis(self, time_range: TimeRange) -> list[KpiValue]:
        minutes = time_range.minutes
        return [
            KpiValue(INFERENCES, self.inferences),
            KpiValue(THROUGHPUT_PER_MINUTE, self.inferences / minutes if minutes else None),
            KpiValue(THROUGHPUT_PER_HOUR, self.inferences / (minutes / 60) if minutes else None),
            KpiValue(THROUGHPUT_PER_DAY, self.inferences / (minutes / 1440) if minutes else None),
            KpiValue(ERRORS, self.errors),
            KpiValue(ERROR_RATE, self.error_rate),
            KpiValue(LATENCY_P50, self.latency_ms["p50"]),
            KpiValue(LATENCY_P95, self.latency_ms["p95"]),
            KpiValue(LATENCY_P99, self.latency_ms["p99"]),
        ]


def _counts(events: QuerySet[ServingEvent], group_by: str | None) -> pd.DataFrame:
    aggregates = {
        "inferences": Count("pk"),
        "errors": Count("pk", filter=Q(status=EventStatus.ERROR)),
    }
    if group_by is None:
        row = events.aggregate(**aggregates)
        return pd.DataFrame([row])
    rows = events.order_by().values(group_by).annotate(**aggregates)
    return pd.DataFrame(list(rows), columns=[group_by, "inferences", "errors"])


def _latency_quantiles(events: QuerySet[ServingEvent], group_by: str | None) -> pd.DataFrame:
    ok = events.filter(status=EventStatus.OK, latency_ms__isnull=False).order_by()
    fields = [group_by, "latency_ms"] if group_by else ["latency_ms"]
    frame = pd.DataFrame(list(ok.values_list(*fields)), columns=fields)
    frame["latency_ms"] = frame["latency_ms"].astype(float)  # an empty frame is untyped
    if group_by is None:
        frame["_all"] = 0
        group_by = "_all"
    grouped = frame.groupby(group_by)["latency_ms"]
    return pd.DataFrame({name: grouped.quantile(q) for name, q in _QUANTILES.items()})


def serving_summary(events: QuerySet[ServingEvent]) -> ServingSummary:
    """Counts and latency percentiles over all the given events."""
    counts = _counts(events, None).iloc[0]
    quantiles = _latency_quantiles(events, None)
    latency = (
        {name: float(quantiles.iloc[0][name]) for name in _QUANTILES}
        if len(quantiles)
        else dict.fromkeys(_QUANTILES)
    )
    return ServingSummary(int(counts["inferences"]), int(counts["errors"]), latency)


def serving_summary_by(
    events: QuerySet[ServingEvent], *, group_by: str
) -> dict[object, ServingSummary]:
    """One ServingSummary per value of `group_by` (e.g. "model", "endpoint")."""
    counts = _counts(events, group_by).set_index(group_by)
    quantiles = _latency_quantiles(events, group_by)
    result = {}
    for key, row in counts.iterrows():
        latency = (
            {name: float(quantiles.at[key, name]) for name in _QUANTILES}
            if key in quantiles.index
            else dict.fromkeys(_QUANTILES)
        )
        result[key] = ServingSummary(int(row["inferences"]), int(row["errors"]), latency)
    return result


def serving_series(
    events: QuerySet[ServingEvent], *, time_range: TimeRange, group_by: str | None = None
) -> pd.DataFrame:
    """Inferences and errors per time bucket (hour for windows up to a week, else day)."""
    trunc = TruncHour if time_range.duration <= timedelta(days=7) else TruncDay
    fields = ["bucket", group_by] if group_by else ["bucket"]
    rows = (
        events.order_by()
        .annotate(bucket=trunc("timestamp"))
        .values(*fields)
        .annotate(inferences=Count("pk"), errors=Count("pk", filter=Q(status=EventStatus.ERROR)))
        .order_by("bucket")
    )
    return pd.DataFrame(list(rows), columns=[*fields, "inferences", "errors"])


ERRORS_BY_CLASS = kpi_define(
    id="errors_by_failure_class",
    phase=PHASE,
    label="Errors by failure class",
    unit="count",
    direction=Direction.LOWER_IS_BETTER,
    formula="Failed inferences in the window, counted per failure class (dependency, "
    "deployment, hardware, downtime/crash, timeout, bad request, other).",
)


def errors_by_class_series(
    events: QuerySet[ServingEvent], *, time_range: TimeRange
) -> pd.DataFrame:
    """Failed inferences per time bucket and failure class."""
    trunc = TruncHour if time_range.duration <= timedelta(days=7) else TruncDay
    rows = (
        events.filter(status=EventStatus.ERROR)
        .order_by()
        .annotate(bucket=trunc("timestamp"))
        .values("bucket", "error_type")
        .annotate(errors=Count("pk"))
        .order_by("bucket")
    )
    return pd.DataFrame(list(rows), columns=["bucket", "error_type", "errors"])
