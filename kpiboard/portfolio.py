"""The portfolio overview: serving KPIs per model composed with deployment state.

Both the page and `GET /api/v1/kpis/portfolio/` call `portfolio_overview`, so a URL
means the same numbers in either place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from django.http import QueryDict

from lifecycle.catalog.filtersets import RegisteredModelFilterSet, ServingEventFilterSet
from lifecycle.catalog.kpis import KpiValue
from lifecycle.catalog.models import Deployment, RegisteredModel, ServingEvent
from lifecycle.catalog.windows import TimeRange
from lifecycle.deployment.filtersets import DeploymentWindowFilterSet
from lifecycle.deployment.kpis import MODELS_IN_PRODUCTION, production_model_ids
from lifecycle.monitoring.kpis import (
    ServingSummary,
    serving_series,
    serving_summary,
    serving_summary_by,
)

_EMPTY = ServingSummary(0, 0, {"p50": None, "p95": None, "p99": None})


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
    errors: dict[str, list[str]] = field(default_factory=dict)


def _sorted(rows: list[ModelRow], sort: str) -> list[ModelRow]:
    key = sort.lstrip("-")
    descending = sort.startswith("-")
    present = [r for r in rows if r.sort_value(key) is not None]
    missing = [r for r in rows if r.sort_value(key) is None]
    present.sort(key=lambda r: r.sort_value(key), reverse=descending)
    # Rows without a value (no traffic) go last whichever way the column is sorted.
    return present + sorted(missing, key=lambda r: r.model.name)


def portfolio_overview(params: QueryDict) -> PortfolioOverview:
    """Per-model serving KPIs and portfolio totals for the filters in `params`."""
    events_filter = ServingEventFilterSet(params, queryset=ServingEvent.objects.all())
    sort = params.get("sort") or DEFAULT_SORT
    if not events_filter.is_valid():
        return PortfolioOverview(
            time_range=events_filter.time_range, errors=dict(events_filter.errors), sort=sort
        )
    if sort.lstrip("-") not in SORT_KEYS:
        return PortfolioOverview(
            time_range=events_filter.time_range,
            sort=DEFAULT_SORT,
            errors={"sort": [f"unknown sort key; use one of {', '.join(SORT_KEYS)}"]},
        )
    time_range = events_filter.time_range
    events = events_filter.qs
    models = RegisteredModelFilterSet(
        params, queryset=RegisteredModel.objects.select_related("team", "industry")
    ).qs
    deployments = DeploymentWindowFilterSet(params, queryset=Deployment.objects.all()).qs
    in_production = production_model_ids(deployments, time_range=time_range)

    by_model = serving_summary_by(events, group_by="model")
    rows = []
    for model in models:
        summary = by_model.get(model.pk, _EMPTY)
        kpis = {k.definition.id: k for k in summary.kpis(time_range)}
        rows.append(ModelRow(model, model.pk in in_production, summary, kpis))

    totals = [
        KpiValue(MODELS_IN_PRODUCTION, len(in_production)),
        *serving_summary(events).kpis(time_range),
    ]
    return PortfolioOverview(
        time_range=time_range,
        totals=totals,
        rows=_sorted(rows, sort),
        series=serving_series(events, time_range=time_range),
        sort=sort,
    )
