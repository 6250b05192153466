from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from lifecycle.catalog.charts import previous_period_read
from lifecycle.catalog.filtersets import ServingEventFilterSet
from lifecycle.catalog.kpis import KpiRequestError, kpi_request_build, kpi_values
from lifecycle.catalog.models import RegisteredModel
from lifecycle.catalog.seen import seen_in_serving_read
from lifecycle.catalog.tables import table_export
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
from lifecycle.monitoring.tables import incidents_table, versions_table


def index(request: HttpRequest) -> HttpResponse:
    filters = ServingEventFilterSet(request.GET)
    context = {
        "filter_form": filters.form,
        "compare_offered": True,
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
    table = incidents_table(incidents.qs, request.GET)
    if export := table_export(request, [table], page="monitoring", time_range=scope.time_range):
        return export
    context.update(
        time_range=scope.time_range,
        incidents_table=table,
        errors_chart=charts.errors_chart(
            errors_by_class_series(scope),
            incidents=[],
            previous=previous_period_read(
                kpi_request, lambda before: {"errors": errors_by_class_series(before)}
            ),
        ),
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
    context = {"model": model, "filter_form": filters.form, "compare_offered": True}
    try:
        kpi_request = kpi_request_build(query=params, now=timezone.now(), with_previous=True)
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
    summaries = serving_summary_by(scope, group_by=HEALTH_KEYS[0])
    shadows = shadow_copies_count(
        kpi_request.serving_scope(shadow_copies=True), group_by=HEALTH_KEYS[0]
    )
    # A version that only ran in shadow served no request, but its copies are shown.
    versions = sorted({*summaries, *shadows.by_key}, key=str)
    seen = seen_in_serving_read(query={"model": model.name})
    tables = [
        versions_table(
            model,
            [(v, summaries.get(v, EMPTY_SUMMARY), shadows.copies(v)) for v in versions],
            params,
            seen=seen,
        ),
        incidents_table(incidents, params, model=model),
    ]
    if export := table_export(
        request, tables, page="model-health", subject=model.name, time_range=window
    ):
        return export
    series = health_series(scope)
    previous = previous_period_read(kpi_request, health_series)
    context.update(
        time_range=window,
        tables={table.name: table for table in tables},
        kpis=kpi_values(MODEL_HEALTH_IDS, kpi_request),
        charts=charts.health_figures(series, incidents, window, previous),
    )
    return render(request, "monitoring/model_health.html", context)
