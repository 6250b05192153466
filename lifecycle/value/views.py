"""The business-value page: filters -> value KPIs -> charts -> template."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from lifecycle.catalog.kpis import KpiRequestError, kpi_request_build
from lifecycle.value import charts
from lifecycle.value.filtersets import ValueFilterSet
from lifecycle.value.kpis import CALLS, MODEL_COST, value_report


def index(request: HttpRequest) -> HttpResponse:
    filters = ValueFilterSet(request.GET)
    context = {
        "filter_form": filters.form,
        "calls": CALLS,
        "model_cost": MODEL_COST,
    }
    try:
        report = value_report(
            kpi_request_build(query=request.GET, now=timezone.now(), with_previous=True)
        )
    except KpiRequestError as error:
        context["errors"] = error.errors
        return render(request, "value/index.html", context, status=400)
    context |= {
        "time_range": report.time_range,
        "kpis": report.kpis,
        "unique_callers": report.kpis[0],
        "by_caller": report.by_caller,
        "by_team": report.by_team,
        "by_business_unit": report.by_business_unit,
        "cost_by_model": report.cost_by_model,
        "charts": {
            "calls_by_business_unit": charts.calls_by_business_unit(report.by_business_unit),
            "cost_by_model": charts.cost_by_model(report.cost_by_model),
        },
    }
    return render(request, "value/index.html", context)
