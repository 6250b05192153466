from __future__ import annotations

import plotly.graph_objects as go
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from lifecycle.catalog.charts import figure_json
from lifecycle.catalog.filtersets import ModelVersionFilterSet
from lifecycle.catalog.models import LifecycleMetric, ModelVersion, RegisteredModel
from lifecycle.development.filtersets import TrainingMetricFilterSet, TrainingRunFilterSet
from lifecycle.development.kpis import (
    FEATURES_EXTRACTED,
    FEATURES_TRANSFORMED,
    LABELING_HUMAN,
    LABELING_SEMI,
    LABELING_THIRD,
    metric_names,
    runs_by_version,
    runs_summary,
    training_runs,
)
from lifecycle.development.models import TrainingRun


def index(request: HttpRequest) -> HttpResponse:
    versions = ModelVersionFilterSet(
        request.GET,
        queryset=ModelVersion.objects.select_related("model__team", "model__industry")
        .prefetch_related("datasets__dataset")
        .annotate(n_deployments=Count("deployments"), n_runs=Count("training_runs"))
        .order_by("model__name", "-registered_at"),
    )
    return render(
        request,
        "development/index.html",
        {"filter_form": versions.form, "versions": versions.qs},
    )


def _metrics_chart(by_version: dict, names: list[str]) -> str:
    figure = go.Figure()
    for name in names:
        figure.add_trace(
            go.Bar(
                x=list(by_version),
                y=[row.metrics.get(name) for row in by_version.values()],
                name=name,
                hovertemplate=f"%{{x}}<br>{name}: %{{y:.4g}}<extra>latest run</extra>",
            )
        )
    figure.update_layout(
        title="Training metrics by version (latest run of each)",
        barmode="group",
        height=320,
        margin={"l": 50, "r": 20, "t": 40, "b": 60},
    )
    return figure_json(figure)


def model(request: HttpRequest, name: str) -> HttpResponse:
    """The development tab of a model: its training runs compared across versions."""
    found = get_object_or_404(RegisteredModel, name=name)
    asked = request.GET.get("model")
    if asked and asked != found.name:
        # The filter bar picked another model: show that model's tab, same filters.
        return redirect(reverse("development:model", args=[asked]) + "?" + request.GET.urlencode())
    query = request.GET.copy()
    query["model"] = found.name
    runs = TrainingRunFilterSet(query, queryset=TrainingRun.objects.all())
    metrics = TrainingMetricFilterSet(query, queryset=LifecycleMetric.objects.all())
    explicit = any(request.GET.get(k) for k in ("window", "start", "end"))
    rows = training_runs(
        metrics=metrics.qs if explicit else metrics.filter_queryset_without_window(),
        runs=runs.qs if runs.is_valid() else TrainingRun.objects.none(),
    )
    names = metric_names(rows)
    by_version = runs_by_version(rows)
    return render(
        request,
        "development/model.html",
        {
            "model": found,
            "filter_form": runs.form,
            "rows": rows,
            "metric_names": names,
            "summary": runs_summary(rows),
            "chart": _metrics_chart(by_version, names) if names else None,
            "make_up": (
                FEATURES_TRANSFORMED,
                FEATURES_EXTRACTED,
                LABELING_HUMAN,
                LABELING_SEMI,
                LABELING_THIRD,
            ),
        },
    )
