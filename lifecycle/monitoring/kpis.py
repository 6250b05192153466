"""Serving KPIs, read from the rollups: filtered rollups (and a sliver of raw events) in,
typed KPI values out.

A window [start, end) is cut into parts read at the coarsest granularity that fits: whole
days from day rollups, whole hours at its edges from hour rollups, and the partial hours
before the first and after the last whole hour from the raw events (summed by the
database, latencies bucketed by it too) — except the bucket the end cuts, read whole from
its rollup when no event follows the end in it (`quiet_until`). Counts, errors and cost
are therefore exact for any window; latency percentiles come from the merged
log-bucketed histograms, within 0.5% of the exact value (`lifecycle.catalog.latency`).
Pandas only reshapes results.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncHour
from django.http import QueryDict

from lifecycle.catalog.filtersets import ServingEventFilterSet
from lifecycle.catalog.kpis import Direction, KpiValue, kpi_define
from lifecycle.catalog.latency import (
    Histogram,
    HistogramSum,
    histogram_quantiles,
    histograms_merge,
    latency_bucket_expression,
)
from lifecycle.catalog.models import (
    EventStatus,
    FailureClass,
    Label,
    LatencyRollup,
    RegisteredModel,
    RollupGranularity,
    ServingEvent,
    ServingRollup,
)
from lifecycle.catalog.windows import TimeRange
from lifecycle.monitoring.filtersets import ServingRollupFilterSet

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
_PERCENTILE_NOTE = (
    " Read from log-bucketed histograms: within 0.5% of the exact value (linear "
    "interpolation between ranks)."
)
LATENCY_P50 = kpi_define(
    id="latency_p50_ms",
    phase=PHASE,
    label="Latency p50",
    unit="ms",
    direction=Direction.LOWER_IS_BETTER,
    formula="Median latency of the successful inferences in the window." + _PERCENTILE_NOTE,
)
LATENCY_P95 = kpi_define(
    id="latency_p95_ms",
    phase=PHASE,
    label="Latency p95",
    unit="ms",
    direction=Direction.LOWER_IS_BETTER,
    formula="95th percentile of the latency of the successful inferences in the window: "
    "95% were at least this fast." + _PERCENTILE_NOTE,
)
LATENCY_P99 = kpi_define(
    id="latency_p99_ms",
    phase=PHASE,
    label="Latency p99",
    unit="ms",
    direction=Direction.LOWER_IS_BETTER,
    formula="99th percentile of the latency of the successful inferences in the window."
    + _PERCENTILE_NOTE,
)
UPTIME = kpi_define(
    id="uptime",
    phase=PHASE,
    label="Uptime",
    unit="fraction",
    direction=Direction.HIGHER_IS_BETTER,
    formula="1 minus the share of the window's inferences that failed because the model "
    "was down or crashed (failure class downtime); empty when there were none.",
)
SLA_COMPLIANCE = kpi_define(
    id="sla_compliance",
    phase=PHASE,
    label="SLA compliance",
    unit="fraction",
    direction=Direction.HIGHER_IS_BETTER,
    formula="For one model: the share of its SLA targets met over the window, among those "
    "it has (p95 latency <= target, error rate <= target, uptime >= target). For several "
    "models: the share of the models with targets and traffic that met all of theirs. "
    "Empty when no model has both.",
)
COST_USD = kpi_define(
    id="cost_usd",
    phase=PHASE,
    label="Serving cost",
    unit="USD",
    direction=Direction.LOWER_IS_BETTER,
    formula="Sum of the cost of the inferences in the window: each event's own cost_usd, "
    "or its model's unit cost per prediction when it carries none.",
)
COST_PER_1000 = kpi_define(
    id="cost_per_1000_predictions",
    phase=PHASE,
    label="Cost per 1,000 predictions",
    unit="USD",
    direction=Direction.LOWER_IS_BETTER,
    formula="Serving cost divided by inferences, times 1,000; empty when there were none.",
)
ERRORS_BY_CLASS = kpi_define(
    id="errors_by_failure_class",
    phase=PHASE,
    label="Errors by failure class",
    unit="count",
    direction=Direction.LOWER_IS_BETTER,
    formula="Failed inferences in the window, counted per failure class (dependency, "
    "deployment, hardware, downtime/crash, timeout, bad request, other).",
)

_QUANTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
ERROR_COLUMNS = {f"errors_{c}": c for c in FailureClass.values}
_SUMS = ["inferences", "errors", *ERROR_COLUMNS, "cost_usd"]
_LEVELS = (RollupGranularity.DAY, RollupGranularity.HOUR, None)


# --- the scope: filters and window ------------------------------------------------------


@dataclass(frozen=True)
class ServingScope:
    """What a set of filters selects: rollups by dimension (any time) and raw events by
    dimension and window, plus the window itself."""

    time_range: TimeRange
    rollups: QuerySet[ServingRollup]
    latency: QuerySet[LatencyRollup]
    events: QuerySet[ServingEvent]
    # No event is stored between the window's end and this moment (see `quiet_until`).
    quiet_until: datetime | None = None

    def segments(self, series: str | None = None) -> list[tuple[str | None, datetime, datetime]]:
        """The window's parts; for a series by hour, no part coarser than an hour (a
        day row cannot be split into its hours)."""
        levels = _LEVELS if series != "hour" else _LEVELS[1:]
        return rollup_segments(
            self.time_range.start,
            self.time_range.end,
            levels=levels,
            quiet_until=self.quiet_until,
        )


def quiet_until(end: datetime) -> datetime:
    """The first stored event time at or after `end` within the day (UTC) that `end`
    falls in, or the end of that day when there is none.

    A window ending now finds no event after its end (unless a client's clock runs
    ahead): the rollup of the hour or day it ends in then holds exactly the window's
    part of that bucket, so the partial last bucket is read from it instead of from the
    raw events. One look at the timestamp index decides it."""
    day_end = _floor(end, RollupGranularity.DAY) + _STEP[RollupGranularity.DAY]
    first_after = (
        ServingEvent.objects.filter(timestamp__gte=end, timestamp__lt=day_end)
        .order_by("timestamp")
        .values_list("timestamp", flat=True)
        .first()
    )
    return first_after or day_end


def serving_scope(params: QueryDict) -> tuple[ServingScope, dict[str, list[str]]]:
    """The scope of `params` (SPEC.md's filters), and the filter errors if any."""
    events = ServingEventFilterSet(params, queryset=ServingEvent.objects.all())
    if not events.is_valid():
        return (
            ServingScope(
                time_range=events.time_range,
                rollups=ServingRollup.objects.none(),
                latency=LatencyRollup.objects.none(),
                events=ServingEvent.objects.none(),
            ),
            dict(events.errors),
        )
    time_range = events.time_range
    raw = ServingRollupFilterSet(params, queryset=ServingEvent.objects.all()).qs
    scope = ServingScope(
        time_range=time_range,
        rollups=ServingRollupFilterSet(params, queryset=ServingRollup.objects.all()).qs,
        latency=ServingRollupFilterSet(params, queryset=LatencyRollup.objects.all()).qs,
        events=raw.filter(timestamp__gte=time_range.start, timestamp__lt=time_range.end),
        quiet_until=quiet_until(time_range.end),
    )
    return scope, {}


_STEP = {
    RollupGranularity.DAY: timedelta(days=1),
    RollupGranularity.HOUR: timedelta(hours=1),
    RollupGranularity.MINUTE: timedelta(minutes=1),
}


def _floor(moment: datetime, granularity: str) -> datetime:
    moment = moment.replace(second=0, microsecond=0)
    if granularity != RollupGranularity.MINUTE:
        moment = moment.replace(minute=0)
    if granularity == RollupGranularity.DAY:
        moment = moment.replace(hour=0)
    return moment


def _ceil(moment: datetime, granularity: str) -> datetime:
    floored = _floor(moment, granularity)
    return floored if floored == moment else floored + _STEP[granularity]


def rollup_segments(
    start: datetime,
    end: datetime,
    *,
    levels: tuple = _LEVELS,
    quiet_until: datetime | None = None,
) -> list[tuple[str | None, datetime, datetime]]:
    """[start, end) as (granularity, lo, hi) parts, coarsest first; granularity None
    means raw events (the partial hours at either edge).

    When no event lies in [end, quiet_until), a bucket that `end` cuts holds only the
    window's events: it is read whole (that part's `hi` is then past `end`) if it starts
    inside the window."""
    segments: list[tuple[str | None, datetime, datetime]] = []

    def split(lo: datetime, hi: datetime, levels: tuple) -> None:
        level, finer = levels[0], levels[1:]
        if level is None:
            segments.append((None, lo, hi))
            return
        a, b = _ceil(lo, level), _floor(hi, level)
        if (
            hi == end
            and b < hi
            and b >= lo
            and quiet_until is not None
            and _ceil(hi, level) <= quiet_until
        ):
            hi = b = _ceil(hi, level)
        if a < b:
            if lo < a:
                split(lo, a, finer)
            segments.append((level, a, b))
            if b < hi:
                split(b, hi, finer)
        else:
            split(lo, hi, finer)

    if start < end:
        split(start, end, levels)
    return segments


def _rollup_q(scope: ServingScope, series: str | None = None) -> Q | None:
    parts = [
        Q(granularity=g, bucket_start__gte=lo, bucket_start__lt=hi)
        for g, lo, hi in scope.segments(series)
        if g is not None
    ]
    if not parts:
        return None
    q = parts[0]
    for part in parts[1:]:
        q |= part
    return q


def _raw_q(scope: ServingScope, series: str | None = None) -> Q | None:
    parts = [
        Q(timestamp__gte=lo, timestamp__lt=hi) for g, lo, hi in scope.segments(series) if g is None
    ]
    if not parts:
        return None
    q = parts[0]
    for part in parts[1:]:
        q |= part
    return q


# --- sums ---------------------------------------------------------------------------


def _raw_aggregates() -> dict[str, Any]:
    aggregates: dict[str, Any] = {
        "inferences": Count("pk"),
        "errors": Count("pk", filter=Q(status=EventStatus.ERROR)),
        # As in the rollups: an event stored without a cost costs its model's unit cost.
        "cost_usd": Sum(Coalesce("cost_usd", "model__unit_cost_usd")),
    }
    for column, failure_class in ERROR_COLUMNS.items():
        aggregates[column] = Count("pk", filter=Q(error_type=failure_class))
    return aggregates


def serving_sums(
    scope: ServingScope, *, group_by: Iterable[str] = (), series: str | None = None
) -> pd.DataFrame:
    """Inferences, errors (in all and per class) and cost per value of `group_by` (fields
    of both ServingRollup and ServingEvent: model, model_version, endpoint, caller,
    model__team ...), and per time bucket when `series` ("hour" or "day") is given."""
    group = list(group_by)
    columns = [*group, *(["bucket"] if series else []), *_SUMS]
    frames = []
    rollup_q = _rollup_q(scope, series)
    if rollup_q is not None:
        fields = [*group, *(["bucket_start"] if series else [])]
        selected = scope.rollups.filter(rollup_q).order_by()
        if fields:
            rows = list(selected.values(*fields).annotate(**{c: Sum(c) for c in _SUMS}))
        else:  # values() without fields would group by every column
            rows = [selected.aggregate(**{c: Sum(c) for c in _SUMS})]
        frame = pd.DataFrame.from_records(rows, columns=[*fields, *_SUMS])
        if series:
            frame = frame.rename(columns={"bucket_start": "bucket"})
        frames.append(frame)
    raw_q = _raw_q(scope, series)
    if raw_q is not None:
        events = scope.events.filter(raw_q).order_by()
        fields = list(group)
        if series:
            events = events.annotate(bucket=TruncHour("timestamp"))
            fields.append("bucket")
        if fields:
            rows = list(events.values(*fields).annotate(**_raw_aggregates()))
        else:
            rows = [events.aggregate(**_raw_aggregates())]
        frames.append(pd.DataFrame.from_records(rows, columns=[*fields, *_SUMS]))
    frames = [f.dropna(subset=["inferences"]) for f in frames]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=columns)
    frame = pd.concat(frames, ignore_index=True)
    frame["cost_usd"] = frame["cost_usd"].map(lambda v: Decimal(0) if v is None else Decimal(v))
    if series:
        frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True).dt.floor(
            "h" if series == "hour" else "D"
        )
    keys = [*group, *(["bucket"] if series else [])]
    if not keys:
        summed = frame[_SUMS].sum().to_frame().T
        return summed
    return frame.groupby(keys, dropna=False, sort=True)[_SUMS].sum().reset_index()


def serving_histograms(
    scope: ServingScope,
    *,
    group_by: str | Sequence[str] | None = None,
    series: str | None = None,
) -> dict[Any, Histogram]:
    """Merged latency histograms of the successful inferences, per value of `group_by`
    (model, model_version, endpoint or None for all) and per time bucket with `series`."""
    if group_by is None:
        keys_of: list[str] = []
    else:
        keys_of = [group_by] if isinstance(group_by, str) else list(group_by)
    parts: dict[Any, HistogramSum] = {}

    def key(values: tuple) -> Any:
        return values[0] if len(values) == 1 else (values if values else None)

    def part(k: Any) -> HistogramSum:
        if k not in parts:
            parts[k] = HistogramSum()
        return parts[k]

    rollup_q = _rollup_q(scope, series)
    if rollup_q is not None:
        fields = [*keys_of, *(["bucket_start"] if series else []), "histogram"]
        for row in scope.latency.filter(rollup_q).order_by().values_list(*fields):
            *values, blob = row
            if series:
                values[-1] = _floor(values[-1], series)
            part(key(tuple(values))).add_blob(blob)
    raw_q = _raw_q(scope, series)
    if raw_q is not None:
        ok = scope.events.filter(raw_q, status=EventStatus.OK, latency_ms__isnull=False)
        ok = ok.order_by().annotate(index=latency_bucket_expression("latency_ms"))
        fields = list(keys_of)
        if series:
            ok = ok.annotate(bucket=TruncHour("timestamp"))
            fields.append("bucket")
        counted: dict[Any, list[tuple[int, int]]] = {}
        for *values, index, n in ok.values_list(*fields, "index").annotate(n=Count("pk")):
            if series:
                values[-1] = _floor(values[-1], series)
            counted.setdefault(key(tuple(values)), []).append((int(index), n))
        for k, pairs in counted.items():
            indexes = np.array([i for i, _ in pairs], dtype=np.int16)
            counts = np.array([n for _, n in pairs], dtype=np.int64)
            part(k).add((indexes, counts))
    return {k: v.histogram() for k, v in parts.items()}


# --- summaries and KPI values ---------------------------------------------------------


@dataclass(frozen=True)
class ServingSummary:
    inferences: int
    errors: int
    latency_ms: dict[str, float | None]
    errors_by_class: dict[str, int] = field(default_factory=dict)
    cost_usd: Decimal = Decimal(0)

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.inferences if self.inferences else None

    @property
    def uptime(self) -> float | None:
        if not self.inferences:
            return None
        return 1 - self.errors_by_class.get(FailureClass.DOWNTIME, 0) / self.inferences

    @property
    def cost_per_1000(self) -> float | None:
        return float(self.cost_usd) / self.inferences * 1000 if self.inferences else None

    def sla_checks(self, model: RegisteredModel) -> list[bool]:
        """One verdict per SLA target the model has, over this summary's window."""
        checks = []
        if model.sla_latency_p95_ms is not None and self.latency_ms["p95"] is not None:
            checks.append(self.latency_ms["p95"] <= model.sla_latency_p95_ms)
        if model.sla_error_rate is not None and self.error_rate is not None:
            checks.append(self.error_rate <= model.sla_error_rate)
        if model.sla_uptime is not None and self.uptime is not None:
            checks.append(self.uptime >= model.sla_uptime)
        return checks

    def sla_compliance(self, model: RegisteredModel) -> float | None:
        checks = self.sla_checks(model)
        return sum(checks) / len(checks) if checks else None

    def kpis(self, time_range: TimeRange, model: RegisteredModel | None = None) -> list[KpiValue]:
        minutes = time_range.minutes
        values = [
            KpiValue(INFERENCES, self.inferences),
            KpiValue(THROUGHPUT_PER_MINUTE, self.inferences / minutes if minutes else None),
            KpiValue(THROUGHPUT_PER_HOUR, self.inferences / (minutes / 60) if minutes else None),
            KpiValue(THROUGHPUT_PER_DAY, self.inferences / (minutes / 1440) if minutes else None),
            KpiValue(ERRORS, self.errors),
            KpiValue(ERROR_RATE, self.error_rate),
            KpiValue(LATENCY_P50, self.latency_ms["p50"]),
            KpiValue(LATENCY_P95, self.latency_ms["p95"]),
            KpiValue(LATENCY_P99, self.latency_ms["p99"]),
            KpiValue(UPTIME, self.uptime),
            KpiValue(COST_USD, float(self.cost_usd)),
            KpiValue(COST_PER_1000, self.cost_per_1000),
        ]
        if model is not None:
            values.append(KpiValue(SLA_COMPLIANCE, self.sla_compliance(model)))
        return values


EMPTY_SUMMARY = ServingSummary(0, 0, dict.fromkeys(_QUANTILES))


def _latency(histogram: Histogram | None) -> dict[str, float | None]:
    if histogram is None:
        return dict.fromkeys(_QUANTILES)
    return dict(
        zip(_QUANTILES, histogram_quantiles(histogram, list(_QUANTILES.values())), strict=True)
    )


def _summary(row: Any, histogram: Histogram | None) -> ServingSummary:
    return ServingSummary(
        inferences=int(row["inferences"]),
        errors=int(row["errors"]),
        latency_ms=_latency(histogram),
        errors_by_class={c: int(row[col]) for col, c in ERROR_COLUMNS.items() if row[col]},
        cost_usd=Decimal(row["cost_usd"]),
    )


def serving_summary(scope: ServingScope) -> ServingSummary:
    """Counts, cost and latency percentiles over everything the scope selects."""
    sums = serving_sums(scope)
    if sums.empty or not int(sums.iloc[0]["inferences"]):
        return EMPTY_SUMMARY
    return _summary(sums.iloc[0], serving_histograms(scope).get(None))


def serving_summary_by(scope: ServingScope, *, group_by: str) -> dict[Any, ServingSummary]:
    """One ServingSummary per value of `group_by` (model, model_version or endpoint)."""
    sums = serving_sums(scope, group_by=[group_by])
    histograms = serving_histograms(scope, group_by=group_by)
    result = {}
    for _, row in sums.iterrows():
        key = None if pd.isna(row[group_by]) else row[group_by]
        result[key] = _summary(row, histograms.get(key))
    return result


def portfolio_sla_compliance(
    summaries: dict[Any, ServingSummary], models: Iterable[RegisteredModel]
) -> float | None:
    """The share of the models with SLA targets and traffic that met all of them."""
    verdicts = [
        all(checks)
        for model in models
        if (checks := summaries.get(model.pk, EMPTY_SUMMARY).sla_checks(model))
    ]
    return sum(verdicts) / len(verdicts) if verdicts else None


def serving_unique_callers(scope: ServingScope) -> int:
    """Distinct non-empty callers among the inferences the scope selects."""
    callers: set[str] = set()
    rollup_q = _rollup_q(scope)
    if rollup_q is not None:
        callers.update(
            scope.rollups.filter(rollup_q)
            .exclude(caller="")
            .order_by()
            .values_list("caller", flat=True)
            .distinct()
        )
    raw_q = _raw_q(scope)
    if raw_q is not None:
        callers.update(
            scope.events.filter(raw_q)
            .exclude(caller="")
            .order_by()
            .values_list("caller", flat=True)
            .distinct()
        )
    return len(callers)


def serving_calls_by(scope: ServingScope, *, group_by: str) -> dict[str, int]:
    """Inferences per caller (group_by "caller"), team ("model__team__name") or business
    unit ("model__team__business_unit"), most first; no caller shows as "(unknown)"."""
    sums = serving_sums(scope, group_by=[group_by])
    result: dict[str, int] = {}
    for _, row in sums.sort_values("inferences", ascending=False).iterrows():
        value = row[group_by]
        name = "(unknown)" if value is None or pd.isna(value) or value == "" else str(value)
        result[name] = result.get(name, 0) + int(row["inferences"])
    return result


def _series_granularity(time_range: TimeRange) -> str:
    # A named week starts on the hour (WINDOW_ALIGNMENT): up to an hour over 7 days.
    return "hour" if time_range.duration <= timedelta(days=7, hours=1) else "day"


def serving_series(scope: ServingScope, *, group_by: str | None = None) -> pd.DataFrame:
    """Inferences and errors per time bucket (hour for windows up to a week, else day)."""
    series = _series_granularity(scope.time_range)
    fields = ["bucket", group_by] if group_by else ["bucket"]
    sums = serving_sums(scope, group_by=[group_by] if group_by else [], series=series)
    if sums.empty:
        return pd.DataFrame(columns=[*fields, "inferences", "errors"])
    sums[["inferences", "errors"]] = sums[["inferences", "errors"]].astype(np.int64)
    return sums[[*fields, "inferences", "errors"]].sort_values("bucket").reset_index(drop=True)


def errors_by_class_series(scope: ServingScope) -> pd.DataFrame:
    """Failed inferences per time bucket and failure class (long form)."""
    sums = serving_sums(scope, series=_series_granularity(scope.time_range))
    if sums.empty:
        return pd.DataFrame(columns=["bucket", "error_type", "errors"])
    long = sums[["bucket", *ERROR_COLUMNS]].melt(
        id_vars=["bucket"],
        value_vars=list(ERROR_COLUMNS),
        var_name="error_type",
        value_name="errors",
    )
    long["error_type"] = long["error_type"].map(ERROR_COLUMNS)
    long["errors"] = long["errors"].astype(np.int64)
    return long[long["errors"] > 0].sort_values("bucket").reset_index(drop=True)


def latency_series(scope: ServingScope, *, group_by: str | None = None) -> pd.DataFrame:
    """p50/p95/p99 per time bucket (and per `group_by` value)."""
    series = _series_granularity(scope.time_range)
    histograms = serving_histograms(scope, group_by=group_by, series=series)
    rows = []
    for key, histogram in histograms.items():
        *group, bucket = key if isinstance(key, tuple) else (key,)
        rows.append(
            {"bucket": bucket, **({group_by: group[0]} if group_by else {}), **_latency(histogram)}
        )
    columns = ["bucket", *([group_by] if group_by else []), *_QUANTILES]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values("bucket").reset_index(drop=True)


HEALTH_KEYS = ("model_version__version", "endpoint__name")


def health_series(scope: ServingScope) -> dict[str, pd.DataFrame]:
    """Per version and endpoint and time bucket: inferences, errors by failure class and
    latency percentiles, for the model-health page."""
    granularity = _series_granularity(scope.time_range)
    sums = serving_sums(scope, group_by=HEALTH_KEYS, series=granularity)
    histograms = serving_histograms(scope, group_by=HEALTH_KEYS, series=granularity)
    latency = pd.DataFrame(
        [
            {"version": v, "endpoint": e, "bucket": b, **_latency(h)}
            for (v, e, b), h in histograms.items()
        ],
        columns=["version", "endpoint", "bucket", *_QUANTILES],
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


@dataclass(frozen=True)
class ServingBreakdown:
    """Everything the portfolio needs from serving events, from one query on the sums
    (grouped by model and caller) and one on the latency histograms (by model)."""

    total: ServingSummary
    by_model: dict[Any, ServingSummary]
    calls_by_caller: dict[str, int]
    unique_callers: int


def serving_breakdown(scope: ServingScope) -> ServingBreakdown:
    sums = serving_sums(scope, group_by=["model", "caller"])
    histograms = serving_histograms(scope, group_by="model")
    if sums.empty:
        return ServingBreakdown(EMPTY_SUMMARY, {}, {}, 0)
    by_model_sums = sums.groupby("model")[_SUMS].sum()
    by_model = {
        model_id: _summary(row, histograms.get(model_id))
        for model_id, row in by_model_sums.iterrows()
    }
    total_row = sums[_SUMS].sum()
    total = (
        _summary(total_row, histograms_merge(histograms.values()) if histograms else None)
        if int(total_row["inferences"])
        else EMPTY_SUMMARY
    )
    callers = sums.assign(caller=sums["caller"].replace("", "(unknown)"))
    by_caller = callers.groupby("caller")["inferences"].sum().sort_values(ascending=False)
    named = sums[(sums["caller"] != "") & (sums["inferences"] > 0)]
    return ServingBreakdown(
        total=total,
        by_model=by_model,
        calls_by_caller={str(k): int(v) for k, v in by_caller.items()},
        unique_callers=int(named["caller"].nunique()),
    )


LABEL_COVERAGE = kpi_define(
    id="label_coverage",
    phase=PHASE,
    label="Label coverage",
    unit="fraction",
    direction=Direction.HIGHER_IS_BETTER,
    formula="Share of the window's inferences that have a ground-truth label (joined by "
    "event_id, whenever the label arrived); empty when there were no inferences.",
)
LABEL_DELAY_P50 = kpi_define(
    id="label_delay_p50_hours",
    phase=PHASE,
    label="Label delay (median)",
    unit="h",
    direction=Direction.LOWER_IS_BETTER,
    formula="Median of label time minus event time, in hours, over the labelled "
    "inferences of the window.",
)
LABEL_DELAY_P90 = kpi_define(
    id="label_delay_p90_hours",
    phase=PHASE,
    label="Label delay (p90)",
    unit="h",
    direction=Direction.LOWER_IS_BETTER,
    formula="90th percentile of label time minus event time, in hours, over the labelled "
    "inferences of the window.",
)


@dataclass(frozen=True)
class LabelSummary:
    inferences: int
    delays_hours: np.ndarray

    @property
    def coverage(self) -> float | None:
        return len(self.delays_hours) / self.inferences if self.inferences else None

    def kpis(self) -> list[KpiValue]:
        has = len(self.delays_hours) > 0
        return [
            KpiValue(LABEL_COVERAGE, self.coverage),
            KpiValue(LABEL_DELAY_P50, float(np.percentile(self.delays_hours, 50)) if has else None),
            KpiValue(LABEL_DELAY_P90, float(np.percentile(self.delays_hours, 90)) if has else None),
        ]


def label_summary(scope: ServingScope, *, inferences: int) -> LabelSummary:
    """Coverage and delay of the labels of the scope's inferences (raw events joined to
    labels by event_id: meant for one model's page, not for the whole portfolio)."""
    label_time = Label.objects.filter(event_id=OuterRef("event_id")).values("timestamp")[:1]
    pairs = (
        scope.events.filter(event_id__in=Label.objects.values("event_id"))
        .order_by()
        .annotate(label_time=Subquery(label_time))
        .values_list("timestamp", "label_time")
    )
    delays = np.array(
        [(labelled - served).total_seconds() / 3600 for served, labelled in pairs], dtype=float
    )
    return LabelSummary(inferences=inferences, delays_hours=delays)
