"""The portfolio overview: serving KPIs per model (read from the rollups) composed with
deployment state and the business-value call counts.

Both the page and `GET /api/v1/kpis/portfolio/` call `portfolio_overview`, so a URL
means the same numbers in either place; `model_overview` does the same for one model
(`GET /api/v1/kpis/models/<name>/`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from django.http import QueryDict
from django.utils import timezone

from lifecycle.catalog.filtersets import RegisteredModelFilterSet
from lifecycle.catalog.kpis import KpiValue
from lifecycle.catalog.models import Deployment, ModelVersion, RegisteredModel
from lifecycle.catalog.windows import TimeRange
from lifecycle.deployment.filtersets import DeploymentWindowFilterSet
from lifecycle.deployment.kpis import (
    MODELS_IN_PRODUCTION,
    production_model_ids,
    time_to_deploy,
    version_milestones,
)
from lifecycle.monitoring.kpis import (
    EMPTY_SUMMARY,
    SLA_COMPLIANCE,
    ServingSummary,
    label_summary,
    portfolio_sla_compliance,
    serving_breakdown,
    serving_calls_by,
    serving_scope,
    serving_series,
    serving_summary,
    serving_unique_callers,
)
from lifecycle.value.kpis import UNIQUE_CALLERS

_EMPTY = EMPTY_SUMMARY


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


def portfolio_overview(params: QueryDict, *, now: datetime | None = None) -> PortfolioOverview:
    """Per-model serving KPIs and portfolio totals for the filters in `params`, a named
    window ending at `now` (the current time when not given)."""
    now = now or timezone.now()
    scope, errors = serving_scope(params, now=now)
    sort = params.get("sort") or DEFAULT_SORT
    if errors:
        return PortfolioOverview(time_range=scope.time_range, errors=errors, sort=sort)
    if sort.lstrip("-") not in SORT_KEYS:
        return PortfolioOverview(
            time_range=scope.time_range,
            sort=DEFAULT_SORT,
            errors={"sort": [f"unknown sort key; use one of {', '.join(SORT_KEYS)}"]},
        )
    time_range = scope.time_range
    models = list(
        RegisteredModelFilterSet(
            params, queryset=RegisteredModel.objects.select_related("team", "industry"), now=now
        ).qs
    )
    deployments = DeploymentWindowFilterSet(params, queryset=Deployment.objects.all(), now=now).qs
    in_production = production_model_ids(deployments, time_range=time_range)

    serving = serving_breakdown(scope)
    by_model = serving.by_model
    rows = []
    for model in models:
        summary = by_model.get(model.pk, _EMPTY)
        kpis = {k.definition.id: k for k in summary.kpis(time_range, model)}
        rows.append(ModelRow(model, model.pk in in_production, summary, kpis))

    summary = serving.total
    totals = [
        KpiValue(MODELS_IN_PRODUCTION, len(in_production)),
        # Versions that reached production in the window; bounded where polls timed them.
        *time_to_deploy(
            version_milestones(ModelVersion.objects.filter(model__in=models)),
            time_range=time_range,
        ),
        *summary.kpis(time_range),
        KpiValue(SLA_COMPLIANCE, portfolio_sla_compliance(by_model, models)),
        KpiValue(UNIQUE_CALLERS, serving.unique_callers),
    ]
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
            "errors_by_failure_class": dict(summary.errors_by_class),
            "calls_by_team": dict(sorted(calls_by_team.items(), key=lambda kv: -kv[1])),
            "calls_by_caller": serving.calls_by_caller,
        },
    )


_BREAKDOWNS = {
    "caller": "calls_by_caller",
    "model__team__name": "calls_by_team",
    "model__team__business_unit": "calls_by_business_unit",
    "model_version__version": "calls_by_version",
    "endpoint__name": "calls_by_endpoint",
}


def _breakdowns(scope, summary: ServingSummary, group_bys: tuple[str, ...]) -> dict:
    result = {"errors_by_failure_class": dict(summary.errors_by_class)}
    for group_by in group_bys:
        result[_BREAKDOWNS[group_by]] = serving_calls_by(scope, group_by=group_by)
    return result


@dataclass
class ModelOverview:
    model: RegisteredModel
    time_range: TimeRange
    in_production: bool = False
    kpis: list[KpiValue] = field(default_factory=list)
    breakdowns: dict[str, dict[str, int]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)


def model_overview(
    *, model: RegisteredModel, params: QueryDict, now: datetime | None = None
) -> ModelOverview:
    """One model's serving KPIs and breakdowns for the filters in `params` (its own
    name replaces any `model` filter), a named window ending at `now`."""
    now = now or timezone.now()
    params = params.copy()
    params["model"] = model.name
    scope, errors = serving_scope(params, now=now)
    if errors:
        return ModelOverview(model=model, time_range=scope.time_range, errors=errors)
    time_range = scope.time_range
    deployments = DeploymentWindowFilterSet(params, queryset=Deployment.objects.all(), now=now).qs
    summary = serving_summary(scope)
    return ModelOverview(
        model=model,
        time_range=time_range,
        in_production=model.pk in production_model_ids(deployments, time_range=time_range),
        kpis=[
            *summary.kpis(time_range, model),
            KpiValue(UNIQUE_CALLERS, serving_unique_callers(scope)),
            *label_summary(scope, inferences=summary.inferences).kpis(),
        ],
        breakdowns=_breakdowns(
            scope, summary, ("caller", "model_version__version", "endpoint__name")
        ),
    )
