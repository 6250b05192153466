"""Monitoring's providers for the KPI engine: the serving KPIs from one summary of the
rollups, the label KPIs from the ground truth joined to the same scope."""

from __future__ import annotations

from datetime import UTC, datetime

from lifecycle.catalog.filtersets import RegisteredModelFilterSet
from lifecycle.catalog.kpis import KpiRequest, KpiValue, kpi_compute, kpi_provide
from lifecycle.catalog.models import RegisteredModel
from lifecycle.catalog.serving.sums import latency_percentiles, serving_histograms, serving_totals
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
    REQUEST_AVAILABILITY,
    SHADOW_COST_USD,
    SHADOW_INFERENCES,
    SLA_COMPLIANCE,
    THROUGHPUT_PER_DAY,
    THROUGHPUT_PER_HOUR,
    THROUGHPUT_PER_MINUTE,
    UPTIME,
)
from lifecycle.monitoring.kpis.labels import label_summary
from lifecycle.monitoring.kpis.shadows import ShadowCopies, shadow_copies_count
from lifecycle.monitoring.kpis.summaries import (
    ServingBreakdown,
    portfolio_sla_compliance,
    serving_breakdown,
    serving_summary,
)

SERVING_IDS = (
    INFERENCES,
    THROUGHPUT_PER_MINUTE,
    THROUGHPUT_PER_HOUR,
    THROUGHPUT_PER_DAY,
    ERRORS,
    ERROR_RATE,
    LATENCY_P50,
    LATENCY_P95,
    LATENCY_P99,
    UPTIME,
    REQUEST_AVAILABILITY,
    COST_USD,
    COST_PER_1000,
    SLA_COMPLIANCE,
    ERRORS_BY_CLASS,
)
LABEL_IDS = (LABEL_COVERAGE, LABEL_DELAY_P50, LABEL_DELAY_P90)
SHADOW_IDS = (SHADOW_INFERENCES, SHADOW_COST_USD)
# A model's health tiles: its serving KPIs, its shadow copies and its ground truth, as
# the model API.
MODEL_HEALTH_IDS = [
    *(kpi.id for kpi in SERVING_IDS if kpi is not ERRORS_BY_CLASS),
    *(kpi.id for kpi in SHADOW_IDS),
    *(kpi.id for kpi in LABEL_IDS),
]
SERIES_IDS = (INFERENCES, ERRORS, ERROR_RATE, LATENCY_P50, LATENCY_P95, LATENCY_P99)
_SERIES_BUCKETS = ("hour", "day")


def request_breakdown(request: KpiRequest) -> ServingBreakdown:
    """The request's serving sums per model and in all, read once per request (the
    portfolio's rows and the engine's totals share it)."""
    return request.remember(
        ("monitoring", "breakdown"), lambda: serving_breakdown(request.serving_scope())
    )


def request_shadow_copies(request: KpiRequest) -> ShadowCopies:
    """The request's shadow copies per model, read once per request (the portfolio's
    rows and the engine's totals share it)."""
    return request.remember(
        ("monitoring", "shadow_copies"),
        lambda: shadow_copies_count(request.serving_scope(shadow_copies=True)),
    )


def shadow_kpis_compute(request: KpiRequest) -> dict[str, KpiValue]:
    return {v.definition.id: v for v in request_shadow_copies(request).kpis()}


def serving_kpis_compute(request: KpiRequest) -> dict[str, KpiValue]:
    """The serving KPIs of the request's scope. SLA compliance is one model's share of
    its targets met when the request names a model, else the share of the models that
    met all of theirs (as the definition says, and as the model and portfolio APIs)."""
    scope = request.serving_scope()
    model = request.filters.get("model")
    if isinstance(model, RegisteredModel):
        summary = serving_summary(scope)
        values = summary.kpis(scope.time_range, model)
    else:
        breakdown = request_breakdown(request)
        summary = breakdown.total
        models = RegisteredModelFilterSet(
            request.query, queryset=RegisteredModel.objects.all(), now=request.now
        ).qs
        values = [
            *summary.kpis(scope.time_range),
            portfolio_sla_compliance(breakdown.by_model, models),
        ]
    answer = {v.definition.id: v for v in values}
    answer[ERRORS_BY_CLASS.id] = KpiValue(
        ERRORS_BY_CLASS, summary.errors, parts=dict(summary.errors_by_class)
    )
    return answer


def label_kpis_compute(request: KpiRequest) -> dict[str, KpiValue]:
    # Coverage is over the scope's inferences: the serving provider's, read once.
    inferences = kpi_compute(INFERENCES.id, request).value
    summary = label_summary(request.serving_scope(), inferences=inferences)
    return {v.definition.id: v for v in summary.kpis()}


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def serving_series_compute(
    request: KpiRequest, bucket: str
) -> dict[str, list[tuple[datetime, float | int | None]]] | None:
    """Counts, error rate and latency percentiles per hour or day, from the rollups at
    that granularity (raw events only at the window's partial edges)."""
    if bucket not in _SERIES_BUCKETS:
        return None
    scope = request.serving_scope()
    totals = serving_totals(scope, series=bucket, sums=("inferences", "errors"))
    histograms = serving_histograms(scope, series=bucket)
    answer: dict[str, list] = {kpi.id: [] for kpi in SERIES_IDS}
    for (moment,), (inferences, errors) in sorted(totals.items()):
        moment = _utc(moment)
        answer[INFERENCES.id].append((moment, int(inferences)))
        answer[ERRORS.id].append((moment, int(errors)))
        answer[ERROR_RATE.id].append((moment, errors / inferences if inferences else None))
    for moment, histogram in sorted(histograms.items()):
        percentiles = latency_percentiles(histogram)
        for kpi, q in ((LATENCY_P50, "p50"), (LATENCY_P95, "p95"), (LATENCY_P99, "p99")):
            answer[kpi.id].append((_utc(moment), percentiles[q]))
    return answer


kpi_provide(
    name="monitoring.serving",
    ids=[kpi.id for kpi in SERVING_IDS],
    compute=serving_kpis_compute,
    series=serving_series_compute,
    series_ids=[kpi.id for kpi in SERIES_IDS],
)
kpi_provide(
    name="monitoring.shadows", ids=[kpi.id for kpi in SHADOW_IDS], compute=shadow_kpis_compute
)
kpi_provide(name="monitoring.labels", ids=[kpi.id for kpi in LABEL_IDS], compute=label_kpis_compute)
