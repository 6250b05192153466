from __future__ import annotations

import plotly.graph_objects as go
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from lifecycle.catalog.filtersets import ServingEventFilterSet
from lifecycle.catalog.models import FailureClass, ServingEvent
from lifecycle.monitoring.filtersets import IncidentFilterSet
from lifecycle.monitoring.kpis import ERRORS_BY_CLASS, errors_by_class_series, serving_scope
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
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 40, "b": 60},
    )
    return figure.to_json()


def index(request: HttpRequest) -> HttpResponse:
    events = ServingEventFilterSet(request.GET, queryset=ServingEvent.objects.all())
    incidents = IncidentFilterSet(
        request.GET, queryset=Incident.objects.select_related("model", "endpoint")
    )
    scope, _ = serving_scope(request.GET)
    frame = errors_by_class_series(scope)
    return render(
        request,
        "monitoring/index.html",
        {
            "filter_form": events.form,
            "time_range": events.time_range,
            "incidents": incidents.qs,
            "errors_chart": _errors_by_class_chart(frame, ERRORS_BY_CLASS.label),
            "errors_definition": ERRORS_BY_CLASS,
        },
    )
