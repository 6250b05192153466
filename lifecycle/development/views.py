from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from lifecycle.catalog.filtersets import ModelVersionFilterSet
from lifecycle.catalog.kpis import KpiRequestError, kpi_request_build, kpi_values
from lifecycle.catalog.links import TIME_KEYS
from lifecycle.catalog.models import ModelVersion, RegisteredModel
from lifecycle.catalog.tables import table_export
from lifecycle.development import charts
from lifecycle.development.filtersets import TrainingRunFilterSet
from lifecycle.development.kpis import (
    FEATURES_EXTRACTED,
    FEATURES_TRANSFORMED,
    LABELING_HUMAN,
    LABELING_SEMI,
    LABELING_THIRD,
    TRAINING_RUNS,
    metric_names,
    runs_by_version,
)
from lifecycle.development.kpis.engine import request_training_runs
from lifecycle.development.tables import model_versions_table, training_runs_table

# The make-up of a run's training data, after its metrics.
RUN_MAKE_UP = (
    FEATURES_TRANSFORMED,
    FEATURES_EXTRACTED,
    LABELING_HUMAN,
    LABELING_SEMI,
    LABELING_THIRD,
)


def index(request: HttpRequest) -> HttpResponse:
    versions = ModelVersionFilterSet(
        request.GET,
        queryset=ModelVersion.objects.select_related("model__team", "model__industry")
        .prefetch_related("datasets__dataset")
        .annotate(n_deployments=Count("deployments"), n_runs=Count("training_runs"))
        .order_by("model__name", "-registered_at"),
    )
    valid = versions.is_valid()
    table = model_versions_table(versions.qs if valid else [])
    if valid and (export := table_export(request, [table], page="development")):
        return export
    return render(
        request,
        "development/index.html",
        # Every version the filters select, whatever its age: no window to offer.
        {"filter_form": versions.form, "versions_table": table, "no_window": True},
        status=200 if valid else 400,
    )


def model(request: HttpRequest, name: str) -> HttpResponse:
    """The development tab of a model: its training runs compared across versions."""
    found = get_object_or_404(RegisteredModel, name=name)
    asked = request.GET.get("model")
    if asked and asked != found.name:
        # The filter bar picked another model: show that model's tab, same filters.
        return redirect(reverse("development:model", args=[asked]) + "?" + request.GET.urlencode())
    query = request.GET.copy()
    query["model"] = found.name
    form = TrainingRunFilterSet(query).form
    try:
        kpi_request = kpi_request_build(query=query, now=timezone.now(), with_previous=True)
        rows = request_training_runs(kpi_request)
    except KpiRequestError as error:
        return render(
            request,
            "development/model.html",
            {"model": found, "filter_form": form, "rows": [], "errors": error.errors},
            status=400,
        )
    names = metric_names(rows)
    table = training_runs_table(found, rows, metric_names=names, make_up=RUN_MAKE_UP)
    if export := table_export(
        request,
        [table],
        page="development",
        subject=found.name,
        time_range=(
            # Runs of every age unless a window was asked for.
            kpi_request.time_range if any(query.get(k) for k in TIME_KEYS) else None
        ),
    ):
        return export
    by_version = runs_by_version(rows)
    return render(
        request,
        "development/model.html",
        {
            "model": found,
            "filter_form": form,
            "runs_table": table,
            "summary": kpi_values([TRAINING_RUNS.id], kpi_request),
            "chart": (
                charts.metrics_by_version_chart(by_version=by_version, names=names)
                if names
                else None
            ),
        },
    )
