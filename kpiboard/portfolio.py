"""The portfolio overview: serving KPIs per model (read from the rollups) composed with
deployment state and the business-value call counts. Its totals come from the KPI
engine, each from the phase that defines it; the per-model rows from the same
per-model serving sums the engine's totals are made of (read once per request).

Both the page and `GET /api/v1/kpis/portfolio/` call `portfolio_overview`, so a URL
means the same numbers in either place; `model_overview` does the same for one model
(`GET /api/v1/kpis/models/<name>/`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from lifecycle.catalog.filtersets import RegisteredModelFilterSet
from lifecycle.catalog.kpis import (
    KpiRequest,
    KpiRequestError,
    KpiValue,
    kpi_compute,
    kpi_values,
)
from lifecycle.catalog.models import RegisteredModel
from lifecycle.catalog.windows import TimeRange
from lifecycle.deployment.kpis import (
    MODELS_IN_PRODUCTION,
    TIME_TO_DEPLOY_MEAN,
    TIME_TO_DEPLOY_MEDIAN,
)
from lifecycle.deployment.kpis.inputs import deployment_inputs
from lifecycle.monitoring.kpis import (
    EMPTY_SUMMARY,
    ERRORS_BY_CLASS,
    SHADOW_INFERENCES,
    ServingSummary,
    serving_series,
)
from lifecycle.monitoring.kpis.engine import (
    LABEL_IDS,
    MODEL_HEALTH_IDS,
    SERVING_IDS,
    SHADOW_IDS,
    request_breakdown,
    request_shadow_copies,
)
from lifecycle.value.kpis import UNIQUE_CALLERS, CallCount, calls_count
from lifecycle.value.kpis.report import request_calls_by


@dataclass(frozen=True)
class ModelRow:
    model: RegisteredModel
    in_production: bool
    summary: ServingSummary
    kpis: dict[str, KpiValue]

    def sort_value(self, key: str) -> object:
        if key in ("name", "serving_mode"):
            return getattr(self.model, key)
        if key in ("industry", "team"):
            return getattr(self.model, key).name
        return self.kpis[key].value


SORT_KEYS = (
    "name",
    "industry",
    "team",
    "serving_mode",
    "inferences",
    "throughput_per_minute",
    "throughput_per_hour",
    "throughput_per_day",
    "error_rate",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
)
DEFAULT_SORT = "-inferences"


@dataclass
class PortfolioOverview:
    time_range: TimeRange
    totals: list[KpiValue] = field(default_factory=list)
    rows: list[ModelRow] = field(default_factory=list)
    series: pd.DataFrame | None = None
    sort: str = DEFAULT_SORT
    # {"calls_by_team": {"risk": 120, ...}, "calls_by_caller": ..., "errors_by_failure_class": ...}
    breakdowns: dict[str, dict[str, int]] = field(default_factory=dict)


def _sorted(rows: list[ModelRow], sort: str) -> list[ModelRow]:
    key = sort.lstrip("-")
    descending = sort.startswith("-")
    present = [r for r in rows if r.sort_value(key) is not None]
    missing = [r for r in rows if r.sort_value(key) is None]
    present.sort(key=lambda r: r.sort_value(key), reverse=descending)
    # Rows without a value (no traffic) go last whichever way the column is sorted.
    return present + sorted(missing, key=lambda r: r.model.name)


PORTFOLIO_TOTAL_IDS = [
    MODELS_IN_PRODUCTION.id,
    # Versions that reached production in the window; bounded where polls timed them.
    TIME_TO_DEPLOY_MEDIAN.id,
    TIME_TO_DEPLOY_MEAN.id,
    *(kpi.id for kpi in SERVING_IDS if kpi is not ERRORS_BY_CLASS),
    *(kpi.id for kpi in SHADOW_IDS),
    UNIQUE_CALLERS.id,
]
MODEL_OVERVIEW_IDS = [
    *MODEL_HEALTH_IDS[: -len(LABEL_IDS)],
    UNIQUE_CALLERS.id,
    *(k.id for k in LABEL_IDS),
]


def _sort_read(request: KpiRequest) -> str:
    sort = request.get("sort") or DEFAULT_SORT
    if sort.lstrip("-") not in SORT_KEYS:
        raise KpiRequestError({"sort": [f"unknown sort key; use one of {', '.join(SORT_KEYS)}"]})
    return sort


def _calls(counts: list[CallCount]) -> dict[str, int]:
    return {row.key: row.calls for row in counts}


def portfolio_overview(request: KpiRequest) -> PortfolioOverview:
    """Per-model serving KPIs and portfolio totals of `request` (raises KpiRequestError
    for a filter or sort key that cannot be read)."""
    sort = _sort_read(request)
    scope = request.serving_scope()
    time_range = scope.time_range
    models = list(
        RegisteredModelFilterSet(
            request.query,
            queryset=RegisteredModel.objects.select_related("team", "industry"),
            now=request.now,
        ).qs
    )
    in_production = deployment_inputs(request).production_model_ids
    by_model = request_breakdown(request).by_model
    shadows = request_shadow_copies(request)
    rows = []
    for model in models:
        summary = by_model.get(model.pk, EMPTY_SUMMARY)
        kpis = {k.definition.id: k for k in summary.kpis(time_range, model)}
        kpis[SHADOW_INFERENCES.id] = KpiValue(SHADOW_INFERENCES, shadows.copies(model.pk))
        rows.append(ModelRow(model, model.pk in in_production, summary, kpis))
    totals = kpi_values(PORTFOLIO_TOTAL_IDS, request)
    calls_by_team: dict[str, int] = {}
    for model in models:
        if model.pk in by_model:
            team = model.team.name
            calls_by_team[team] = calls_by_team.get(team, 0) + by_model[model.pk].inferences
    return PortfolioOverview(
        time_range=time_range,
        totals=totals,
        rows=_sorted(rows, sort),
        series=serving_series(scope),
        sort=sort,
        breakdowns={
            "errors_by_failure_class": dict(kpi_compute(ERRORS_BY_CLASS.id, request).parts),
            "calls_by_team": dict(sorted(calls_by_team.items(), key=lambda kv: -kv[1])),
            "calls_by_caller": _calls(request_calls_by(request, "caller")),
        },
    )


@dataclass
class ModelOverview:
    model: RegisteredModel
    time_range: TimeRange
    in_production: bool = False
    kpis: list[KpiValue] = field(default_factory=list)
    breakdowns: dict[str, dict[str, int]] = field(default_factory=dict)


def model_overview(*, model: RegisteredModel, request: KpiRequest) -> ModelOverview:
    """One model's serving KPIs and breakdowns; `request` is built with the model's own
    name as its `model` filter."""
    scope = request.serving_scope()
    return ModelOverview(
        model=model,
        time_range=scope.time_range,
        in_production=model.pk in deployment_inputs(request).production_model_ids,
        kpis=kpi_values(MODEL_OVERVIEW_IDS, request),
        breakdowns={
            "errors_by_failure_class": dict(kpi_compute(ERRORS_BY_CLASS.id, request).parts),
            "calls_by_caller": _calls(request_calls_by(request, "caller")),
            "calls_by_version": _calls(calls_count(scope=scope, group_by="model_version__version")),
            "calls_by_endpoint": _calls(calls_count(scope=scope, group_by="endpoint__name")),
        },
    )
