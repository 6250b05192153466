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
_SUMS = ("inferences", "errors", *ERROR_COLUMNS, "cost_usd")
_COST = len(_SUMS) - 1  # the position of cost_usd, the one decimal among the sums
_LEVELS = (RollupGranularity.WEEK, RollupGranularity.DAY, RollupGranularity.HOUR, None)


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
        """The window's parts; for a series by day or hour, no part coarser than its
        buckets (a week row cannot be split into its days)."""
        levels = {None: _LEVELS, "day": _LEVELS[1:], "hour": _LEVELS[2:]}[series]
        return rollup_segments(
            self.time_range.start,
            self.time_range.end,
            levels=levels,
            quiet_until=self.quiet_until,
        )


def quiet_until(end: datetime) -> datetime:
    """The first stored event time at or after `end` within the week (UTC, from Monday)
    that `end` falls in, or the end of that week when there is none.

    A window ending now finds no event after its end (unless a client's clock runs
    ahead): the rollup of the hour or day it ends in then holds exactly the window's
    part of that bucket, so the partial last bucket is read from it instead of from the
    raw events. One look at the timestamp index decides it."""
    week_end = _ceil(end, RollupGranularity.WEEK)
    if week_end == end:
        return end
    first_after = (
        ServingEvent.objects.filter(timestamp__gte=end, timestamp__lt=week_end)
        .order_by("timestamp")
        .values_list("timestamp", flat=True)
        .first()
    )
    return first_after or week_end


def serving_scope(params: QueryDict) -> tuple[ServingScope, dict[str, list[str]]]:
    """The scope of `params` (SPEC.md's filters), and the filter errors if any.

    One filter set, validated once, narrows the rollups, the latency rollups and the raw
    events alike: they share the filtered fields (model, version, endpoint and the
    model's industry, team and serving mode)."""
    filters = ServingRollupFilterSet(params, queryset=ServingRollup.objects.all())
    time_range = filters.time_range
    if not filters.is_valid():
        return (
            ServingScope(
                time_range=time_range,
                rollups=ServingRollup.objects.none(),
                latency=LatencyRollup.objects.none(),
                events=ServingEvent.objects.none(),
            ),
            dict(filters.errors),
        )
    raw = filters.filter_queryset(ServingEvent.objects.all())
    scope = ServingScope(
        time_range=time_range,
        rollups=filters.qs,
        latency=filters.filter_queryset(LatencyRollup.objects.all()),
        events=raw.filter(timestamp__gte=time_range.start, timestamp__lt=time_range.end),
        quiet_until=quiet_until(time_range.end),
    )
    return scope, {}


_STEP = {
    RollupGranularity.WEEK: timedelta(days=7),
    RollupGranularity.DAY: timedelta(days=1),
    RollupGranularity.HOUR: timedelta(hours=1),
    RollupGranularity.MINUTE: timedelta(minutes=1),
}


def _floor(moment: datetime, granularity: str) -> datetime:
    moment = moment.replace(second=0, microsecond=0)
    if granularity != RollupGranularity.MINUTE:
        moment = moment.replace(minute=0)
    if granularity in (RollupGranularity.DAY, RollupGranularity.WEEK):
        moment = moment.replace(hour=0)
    if granularity == RollupGranularity.WEEK:  # weeks start on Monday, as TruncWeek's
        moment -= timedelta(days=moment.weekday())
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
    """The `_SUMS` over raw events, in the same order."""
    aggregates: dict[str, Any] = {
        "inferences": Count("pk"),
        "errors": Count("pk", filter=Q(status=EventStatus.ERROR)),
    }
    for column, failure_class in ERROR_COLUMNS.items():
        aggregates[column] = Count("pk", filter=Q(error_type=failure_class))
    # As in the rollups: an event stored without a cost costs its model's unit cost.
    aggregates["cost_usd"] = Sum(Coalesce("cost_usd", "model__unit_cost_usd"))
    return {name: aggregates[name] for name in _SUMS}


def serving_totals(
    scope: ServingScope,
    *,
    group_by: Iterable[str] = (),
    series: str | None = None,
    sums: Sequence[str] = _SUMS,
) -> dict[tuple, list]:
    """Inferences, errors (in all and per class) and cost (the `_SUMS`, in that order,
    or the ones asked for) per value of `group_by` (fields of both ServingRollup and
    ServingEvent: model, model_version, endpoint, caller, model__team ...), and per time
    bucket when `series` ("hour" or "day") is given, as {key tuple: sums}.

    The database sums each part of the window; the parts are added here in plain
    Python: a portfolio has a few hundred keys, and building data frames for them cost
    more than the database's work."""
    group = list(group_by)
    width = len(group) + (1 if series else 0)
    counts = [i for i, name in enumerate(sums) if name != "cost_usd"]
    totals: dict[tuple, list] = {}

    def add(rows: Iterable[tuple]) -> None:
        for row in rows:
            if not row[width]:  # an aggregate over no rows
                continue
            key = row[:width]
            if series:
                key = (*key[:-1], _floor(key[-1], series))
            values = list(row[width:])
            for i in counts:
                values[i] = int(values[i])
            if len(counts) < len(values):  # the cost, the one decimal
                cost = sums.index("cost_usd")
                values[cost] = Decimal(values[cost] or 0)
            current = totals.get(key)
            if current is None:
                totals[key] = values
            else:
                for i, value in enumerate(values):
                    current[i] += value

    rollup_q = _rollup_q(scope, series)
    if rollup_q is not None:
        fields = [*group, *(["bucket_start"] if series else [])]
        # Callers are merged in the latency rollups, which have a fifth of the rows.
        source = scope.rollups if "caller" in group else scope.latency
        selected = source.filter(rollup_q).order_by()
        summed = {c: Sum(c) for c in sums}
        if fields:
            add(selected.values_list(*fields).annotate(**summed))
        else:  # values() without fields would group by every column
            add([tuple(selected.aggregate(**summed).values())])
    raw_q = _raw_q(scope, series)
    if raw_q is not None:
        events = scope.events.filter(raw_q).order_by()
        fields = list(group)
        if series:
            events = events.annotate(bucket=TruncHour("timestamp"))
            fields.append("bucket")
        aggregates = _raw_aggregates()
        aggregates = {name: aggregates[name] for name in sums}
        if fields:
            add(events.values_list(*fields).annotate(**aggregates))
        else:
            add([tuple(events.aggregate(**aggregates).values())])
    return totals


def serving_sums(
    scope: ServingScope, *, group_by: Iterable[str] = (), series: str | None = None
) -> pd.DataFrame:
    """`serving_totals` as a frame: one row per key, sorted by key, columns `group_by`,
    "bucket" with `series`, then the `_SUMS`."""
    group = list(group_by)
    keys = [*group, *(["bucket"] if series else [])]
    totals = serving_totals(scope, group_by=group, series=series)
    frame = pd.DataFrame.from_records(
        [(*key, *values) for key, values in totals.items()], columns=[*keys, *_SUMS]
    )
    if series:
        frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True)
    if keys and len(frame):
        frame = frame.sort_values(keys, na_position="last", kind="stable", ignore_index=True)
    return frame


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


def _summary(sums: Sequence, histogram: Histogram | None) -> ServingSummary:
    """A summary from the `_SUMS` (in that order) and the latency histogram."""
    row = dict(zip(_SUMS, sums, strict=True))
    return ServingSummary(
        inferences=int(row["inferences"]),
        errors=int(row["errors"]),
        latency_ms=_latency(histogram),
        errors_by_class={c: int(row[col]) for col, c in ERROR_COLUMNS.items() if row[col]},
        cost_usd=Decimal(row["cost_usd"]),
    )


def _added(rows: Iterable[list]) -> list:
    """Several `_SUMS` rows added up."""
    total: list = [0] * _COST + [Decimal(0)]
    for row in rows:
        for i, value in enumerate(row):
            total[i] += value
    return total


def serving_summary(scope: ServingScope) -> ServingSummary:
    """Counts, cost and latency percentiles over everything the scope selects."""
    sums = serving_totals(scope).get(())
    if sums is None:
        return EMPTY_SUMMARY
    return _summary(sums, serving_histograms(scope).get(None))


def serving_summary_by(scope: ServingScope, *, group_by: str) -> dict[Any, ServingSummary]:
    """One ServingSummary per value of `group_by` (model, model_version or endpoint)."""
    totals = serving_totals(scope, group_by=[group_by])
    histograms = serving_histograms(scope, group_by=group_by)
    return {key: _summary(sums, histograms.get(key)) for (key,), sums in totals.items()}


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
    fields = ["bucket", group_by] if group_by else ["bucket"]
    totals = serving_totals(
        scope,
        group_by=[group_by] if group_by else [],
        series=_series_granularity(scope.time_range),
        sums=("inferences", "errors"),
    )
    # Keys are (group value, bucket): the bucket goes first, rows in time order.
    rows = sorted(((key[-1], *key[:-1], *values) for key, values in totals.items()), key=_order)
    frame = pd.DataFrame.from_records(rows, columns=[*fields, "inferences", "errors"])
    frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True)
    return frame.astype({"inferences": np.int64, "errors": np.int64})


def _order(row: tuple) -> tuple:
    """Bucket, then group value (a missing one, e.g. no endpoint, first)."""
    return (row[0], *(("", "") if v is None else (type(v).__name__, v) for v in row[1:-2]))


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
    totals = serving_totals(scope, group_by=["model", "caller"])
    if not totals:
        return ServingBreakdown(EMPTY_SUMMARY, {}, {}, 0)
    histograms = serving_histograms(scope, group_by="model")
    by_model_rows: dict[Any, list[list]] = {}
    calls_by_caller: dict[str, int] = {}
    for (model_id, caller), sums in totals.items():
        by_model_rows.setdefault(model_id, []).append(sums)
        name = caller or "(unknown)"
        calls_by_caller[name] = calls_by_caller.get(name, 0) + sums[0]
    by_model = {
        model_id: _summary(_added(rows), histograms.get(model_id))
        for model_id, rows in by_model_rows.items()
    }
    total = _summary(
        _added(totals.values()), histograms_merge(histograms.values()) if histograms else None
    )
    return ServingBreakdown(
        total=total,
        by_model=by_model,
        calls_by_caller=dict(sorted(calls_by_caller.items(), key=lambda kv: (-kv[1], kv[0]))),
        unique_callers=len({caller for _, caller in totals if caller}),
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
