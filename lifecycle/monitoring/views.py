from __future__ import annotations

import plotly.graph_objects as go
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from lifecycle.catalog.charts import figure_json
from lifecycle.catalog.filtersets import ServingEventFilterSet
from lifecycle.catalog.models import FailureClass, RegisteredModel, ServingEvent
from lifecycle.monitoring import charts
from lifecycle.monitoring.filtersets import IncidentFilterSet
from lifecycle.monitoring.kpis import (
    ERRORS_BY_CLASS,
    HEALTH_KEYS,
    errors_by_class_series,
    health_series,
    label_summary,
    serving_scope,
    serving_summary,
    serving_summary_by,
)
from lifecycle.monitoring.models import Incident


def _errors_by_class_chart(frame, title: str) -> str:
    figure = go.Figure()
    labels = dict(FailureClass.choices)
    for error_type, part in frame.groupby("error_type"):
        figure.add_trace(
            go.Bar(
                x=part["bucket"],
                y=part["errors"],
                name=labels.get(error_type, error_type),
                hovertemplate=f"%{{x}}<br>{labels.get(error_type)}: %{{y:,}}"
                f"<br><i>{ERRORS_BY_CLASS.formula}</i><extra></extra>",
            )
        )
    figure.update_layout(
        barmode="stack",
        title=title,
        height=340,
        margin={"l": 60, "r": 20, "t": 40, "b": 60},
    )
    return figure_json(figure)


def index(request: HttpRequest) -> HttpResponse:
    events = ServingEventFilterSet(request.GET, queryset=ServingEvent.objects.all())
    incidents = IncidentFilterSet(
        request.GET, queryset=Incident.objects.select_related("model", "endpoint")
    )
    scope, errors = serving_scope(request.GET)
    context = {
        "filter_form": events.form,
        "time_range": events.time_range,
        "errors": errors,
        "errors_definition": ERRORS_BY_CLASS,
    }
    if not errors:
        frame = errors_by_class_series(scope)
        context.update(
            incidents=incidents.qs,
            errors_chart=_errors_by_class_chart(frame, ERRORS_BY_CLASS.label),
        )
    return render(request, "monitoring/index.html", context, status=400 if errors else 200)


def model_health(request: HttpRequest, name: str) -> HttpResponse:
    """One model's health per endpoint and version: throughput, latency percentiles and
    errors by failure class over time, with its incidents shaded on every chart."""
    model = get_object_or_404(RegisteredModel.objects.select_related("team", "industry"), name=name)
    params = request.GET.copy()
    params["model"] = model.name
    scope, errors = serving_scope(params)
    incidents = list(
        IncidentFilterSet(params, queryset=Incident.objects.select_related("endpoint")).qs
    )
    context = {
        "model": model,
        "filter_form": ServingEventFilterSet(request.GET).form,
        "time_range": scope.time_range,
        "errors": errors,
        "incidents": incidents,
    }
    if not errors:
        series = health_series(scope)
        window = scope.time_range
        summaries = serving_summary_by(scope, group_by=HEALTH_KEYS[0])
        summary = serving_summary(scope)
        context.update(
            summary=summary,
            kpis=[
                *summary.kpis(scope.time_range, model),
                *label_summary(scope, inferences=summary.inferences).kpis(),
            ],
            versions=sorted(summaries.items(), key=lambda item: str(item[0])),
            charts={
                "throughput": charts.throughput_chart(series["throughput"], incidents, window),
                "latency": charts.latency_chart(series["latency"], incidents, window),
                "errors": charts.errors_chart(series["errors"], incidents, window),
            },
        )
    return render(request, "monitoring/model_health.html", context, status=400 if errors else 200)
