from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from lifecycle.catalog.filtersets import ModelVersionFilterSet
from lifecycle.catalog.kpis import KpiRequestError, kpi_request_build, kpi_values
from lifecycle.catalog.models import ModelVersion, RegisteredModel
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


def index(request: HttpRequest) -> HttpResponse:
    versions = ModelVersionFilterSet(
        request.GET,
        queryset=ModelVersion.objects.select_related("model__team", "model__industry")
        .prefetch_related("datasets__dataset")
        .annotate(n_deployments=Count("deployments"), n_runs=Count("training_runs"))
        .order_by("model__name", "-registered_at"),
    )
    valid = versions.is_valid()
    return render(
        request,
        "development/index.html",
        # Every version the filters select, whatever its age: no window to offer.
        {"filter_form": versions.form, "versions": versions.qs if valid else [], "no_window": True},
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
    by_version = runs_by_version(rows)
    return render(
        request,
        "development/model.html",
        {
            "model": found,
            "filter_form": form,
            "rows": rows,
            "metric_names": names,
            "summary": kpi_values([TRAINING_RUNS.id], kpi_request),
            "chart": (
                charts.metrics_by_version_chart(by_version=by_version, names=names)
                if names
                else None
            ),
            "make_up": (
                FEATURES_TRANSFORMED,
                FEATURES_EXTRACTED,
                LABELING_HUMAN,
                LABELING_SEMI,
                LABELING_THIRD,
            ),
        },
    )
