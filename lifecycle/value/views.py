"""The business-value page: filters -> value KPIs -> charts -> template."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from lifecycle.value import charts
from lifecycle.value.filtersets import ValueFilterSet
from lifecycle.value.kpis import CALLS, MODEL_COST, value_report_read


def index(request: HttpRequest) -> HttpResponse:
    report, time_range, errors = value_report_read(params=request.GET)
    context = {
        "filter_form": ValueFilterSet(request.GET).form,
        "time_range": time_range,
        "calls": CALLS,
        "model_cost": MODEL_COST,
        "errors": errors,
    }
    if report is not None:
        context |= {
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
    return render(request, "value/index.html", context, status=400 if errors else 200)
