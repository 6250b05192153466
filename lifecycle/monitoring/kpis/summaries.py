"""Summaries and KPI values: the sums and histograms of a scope turned into numbers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from lifecycle.catalog.kpis import KpiDefinition, KpiValue, TargetMiss
from lifecycle.catalog.kpis.definitions import Direction
from lifecycle.catalog.models import SYSTEM_FAILURE_CLASSES, RegisteredModel
from lifecycle.catalog.serving.histograms import Histogram, histograms_merge
from lifecycle.catalog.serving.scope import ServingScope
from lifecycle.catalog.serving.sums import (
    COST,
    ERROR_COLUMNS,
    QUANTILES,
    SUMS,
    latency_percentiles,
    serving_histograms,
    serving_totals,
)
from lifecycle.catalog.serving.uptime import NO_MINUTES, UptimeMinutes, uptime_minutes
from lifecycle.catalog.windows import TimeRange
from lifecycle.monitoring.kpis.definitions import (
    COST_PER_1000,
    COST_USD,
    ERROR_RATE,
    ERRORS,
    INFERENCES,
    LATENCY_P50,
    LATENCY_P95,
    LATENCY_P99,
    REQUEST_AVAILABILITY,
    SLA_COMPLIANCE,
    THROUGHPUT_PER_DAY,
    THROUGHPUT_PER_HOUR,
    THROUGHPUT_PER_MINUTE,
    UPTIME,
)

# --- summaries and KPI values ---------------------------------------------------------


@dataclass(frozen=True)
class ServingSummary:
    inferences: int
    errors: int
    latency_ms: dict[str, float | None]
    errors_by_class: dict[str, int] = field(default_factory=dict)
    cost_usd: Decimal = Decimal(0)
    # Uptime's minutes (per model; a summary per version or endpoint has none).
    minutes: UptimeMinutes = NO_MINUTES

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.inferences if self.inferences else None

    @property
    def uptime(self) -> float | None:
        return self.minutes.uptime

    @property
    def request_availability(self) -> float | None:
        if not self.inferences:
            return None
        system = sum(n for c, n in self.errors_by_class.items() if c in SYSTEM_FAILURE_CLASSES)
        return 1 - system / self.inferences

    @property
    def cost_per_1000(self) -> float | None:
        return float(self.cost_usd) / self.inferences * 1000 if self.inferences else None

    def sla_verdicts(self, model: RegisteredModel) -> list[tuple[TargetMiss, bool]]:
        """Each SLA target the model has and this summary's window can judge, as the
        value against the target, and whether it was met."""
        targets: list[tuple[KpiDefinition, float | None, float | None]] = [
            (LATENCY_P95, self.latency_ms["p95"], model.sla_latency_p95_ms),
            (ERROR_RATE, self.error_rate, model.sla_error_rate),
            (UPTIME, self.uptime, model.sla_uptime),
        ]
        verdicts = []
        for definition, actual, target in targets:
            if actual is None or target is None:
                continue
            if definition.direction == Direction.HIGHER_IS_BETTER:
                met = actual >= target
            else:
                met = actual <= target
            verdicts.append((TargetMiss(definition, actual, target), met))
        return verdicts

    def sla_checks(self, model: RegisteredModel) -> list[bool]:
        """One verdict per SLA target the model has, over this summary's window."""
        return [met for _, met in self.sla_verdicts(model)]

    def sla_misses(self, model: RegisteredModel) -> tuple[TargetMiss, ...]:
        return tuple(miss for miss, met in self.sla_verdicts(model) if not met)

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
            KpiValue(REQUEST_AVAILABILITY, self.request_availability),
            KpiValue(COST_USD, float(self.cost_usd)),
            KpiValue(COST_PER_1000, self.cost_per_1000),
        ]
        if model is not None:
            values.append(
                KpiValue(SLA_COMPLIANCE, self.sla_compliance(model), misses=self.sla_misses(model))
            )
        return values


EMPTY_SUMMARY = ServingSummary(0, 0, dict.fromkeys(QUANTILES))


def _summary(
    sums: Sequence, histogram: Histogram | None, minutes: UptimeMinutes = NO_MINUTES
) -> ServingSummary:
    """A summary from the `SUMS` (in that order), the latency histogram and uptime's
    minutes."""
    row = dict(zip(SUMS, sums, strict=True))
    return ServingSummary(
        inferences=int(row["inferences"]),
        errors=int(row["errors"]),
        latency_ms=latency_percentiles(histogram),
        errors_by_class={c: int(row[col]) for col, c in ERROR_COLUMNS.items() if row[col]},
        cost_usd=Decimal(row["cost_usd"]),
        minutes=minutes,
    )


def _minutes_added(minutes: Iterable[UptimeMinutes]) -> UptimeMinutes:
    return sum(minutes, NO_MINUTES)


def _added(rows: Iterable[list]) -> list:
    """Several `SUMS` rows added up."""
    total: list = [0] * COST + [Decimal(0)]
    for row in rows:
        for i, value in enumerate(row):
            total[i] += value
    return total


def serving_summary(scope: ServingScope) -> ServingSummary:
    """Counts, cost and latency percentiles over everything the scope selects."""
    sums = serving_totals(scope).get(())
    if sums is None:
        return EMPTY_SUMMARY
    minutes = _minutes_added(uptime_minutes(scope).values())
    return _summary(sums, serving_histograms(scope).get(None), minutes)


def serving_summary_by(scope: ServingScope, *, group_by: str) -> dict[Any, ServingSummary]:
    """One ServingSummary per value of `group_by` (model, model_version or endpoint);
    uptime only per model (its minutes are the model's)."""
    totals = serving_totals(scope, group_by=[group_by])
    histograms = serving_histograms(scope, group_by=group_by)
    minutes = uptime_minutes(scope) if group_by == "model" else {}
    return {
        key: _summary(sums, histograms.get(key), minutes.get(key, NO_MINUTES))
        for (key,), sums in totals.items()
    }


def portfolio_sla_compliance(
    summaries: dict[Any, ServingSummary], models: Iterable[RegisteredModel]
) -> KpiValue:
    """The share of the models with SLA targets and traffic that met all of them, with
    every target each of them missed."""
    verdicts = []
    misses: list[TargetMiss] = []
    for model in models:
        summary = summaries.get(model.pk, EMPTY_SUMMARY)
        if checks := summary.sla_checks(model):
            verdicts.append(all(checks))
            misses.extend(replace(m, model=model.name) for m in summary.sla_misses(model))
    value = sum(verdicts) / len(verdicts) if verdicts else None
    return KpiValue(SLA_COMPLIANCE, value, misses=tuple(misses))


@dataclass(frozen=True)
class ServingBreakdown:
    """Everything the portfolio needs from serving events, from one query on the sums
    and one on the latency histograms, both grouped by model. (Calls by caller and
    distinct callers are business value's, in `lifecycle.value.kpis`.)"""

    total: ServingSummary
    by_model: dict[Any, ServingSummary]


def serving_breakdown(scope: ServingScope) -> ServingBreakdown:
    totals = serving_totals(scope, group_by=["model"])
    if not totals:
        return ServingBreakdown(EMPTY_SUMMARY, {})
    histograms = serving_histograms(scope, group_by="model")
    minutes = uptime_minutes(scope)
    by_model = {
        model_id: _summary(sums, histograms.get(model_id), minutes.get(model_id, NO_MINUTES))
        for (model_id,), sums in totals.items()
    }
    total = _summary(
        _added(totals.values()),
        histograms_merge(histograms.values()) if histograms else None,
        _minutes_added(minutes.values()),
    )
    return ServingBreakdown(total=total, by_model=by_model)
