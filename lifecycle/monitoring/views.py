from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from lifecycle.catalog.filtersets import ServingEventFilterSet
from lifecycle.catalog.kpis import KpiRequestError, kpi_request_build, kpi_values
from lifecycle.catalog.models import RegisteredModel
from lifecycle.catalog.seen import seen_in_serving_read
from lifecycle.monitoring import charts
from lifecycle.monitoring.filtersets import IncidentFilterSet
from lifecycle.monitoring.kpis import (
    EMPTY_SUMMARY,
    ERRORS_BY_CLASS,
    HEALTH_KEYS,
    errors_by_class_series,
    health_series,
    serving_summary_by,
    shadow_copies_count,
)
from lifecycle.monitoring.kpis.engine import MODEL_HEALTH_IDS
from lifecycle.monitoring.models import Incident


def index(request: HttpRequest) -> HttpResponse:
    filters = ServingEventFilterSet(request.GET)
    context = {
        "filter_form": filters.form,
        "errors_definition": ERRORS_BY_CLASS,
    }
    try:
        kpi_request = kpi_request_build(query=request.GET, now=timezone.now())
        scope = kpi_request.serving_scope()
    except KpiRequestError as error:
        context["errors"] = error.errors
        return render(request, "monitoring/index.html", context, status=400)
    incidents = IncidentFilterSet(
        kpi_request.query,
        queryset=Incident.objects.select_related("model", "endpoint"),
        now=kpi_request.now,
    )
    context.update(
        time_range=scope.time_range,
        incidents=incidents.qs,
        errors_chart=charts.errors_chart(errors_by_class_series(scope), incidents=[]),
    )
    return render(request, "monitoring/index.html", context)


def model_health(request: HttpRequest, name: str) -> HttpResponse:
    """One model's health per endpoint and version: throughput, latency percentiles and
    errors by failure class over time, with its incidents shaded on every chart."""
    model = get_object_or_404(RegisteredModel.objects.select_related("team", "industry"), name=name)
    asked = request.GET.get("model")
    if asked and asked != model.name:
        # The filter bar picked another model: show that model's health, same filters.
        return redirect(
            reverse("monitoring:model-health", args=[asked]) + "?" + request.GET.urlencode()
        )
    params = request.GET.copy()
    params["model"] = model.name
    filters = ServingEventFilterSet(params)
    context = {"model": model, "filter_form": filters.form}
    try:
        kpi_request = kpi_request_build(query=params, now=timezone.now())
        scope = kpi_request.serving_scope()
    except KpiRequestError as error:
        context["errors"] = error.errors
        return render(request, "monitoring/model_health.html", context, status=400)
    incidents = list(
        IncidentFilterSet(
            kpi_request.query,
            queryset=Incident.objects.select_related("endpoint"),
            now=kpi_request.now,
        ).qs
    )
    window = scope.time_range
    series = health_series(scope)
    summaries = serving_summary_by(scope, group_by=HEALTH_KEYS[0])
    shadows = shadow_copies_count(
        kpi_request.serving_scope(shadow_copies=True), group_by=HEALTH_KEYS[0]
    )
    # A version that only ran in shadow served no request, but its copies are shown.
    versions = sorted({*summaries, *shadows.by_key}, key=str)
    context.update(
        time_range=window,
        incidents=incidents,
        kpis=kpi_values(MODEL_HEALTH_IDS, kpi_request),
        versions=[(v, summaries.get(v, EMPTY_SUMMARY), shadows.copies(v)) for v in versions],
        seen=seen_in_serving_read(query={"model": model.name}),
        charts=charts.health_figures(series, incidents, window),
    )
    return render(request, "monitoring/model_health.html", context)
