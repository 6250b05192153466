from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from lifecycle.catalog.filtersets import ServingEventFilterSet
from lifecycle.catalog.kpis import KpiValue
from lifecycle.catalog.models import ServingEvent
from lifecycle.value.kpis import CALLS, UNIQUE_CALLERS, calls_by, unique_callers


def index(request: HttpRequest) -> HttpResponse:
    events = ServingEventFilterSet(request.GET, queryset=ServingEvent.objects.all())
    qs = events.qs
    return render(
        request,
        "value/index.html",
        {
            "filter_form": events.form,
            "time_range": events.time_range,
            "unique_callers": KpiValue(UNIQUE_CALLERS, unique_callers(qs)),
            "calls": CALLS,
            "by_caller": calls_by(qs, group_by="caller")[:50],
            "by_team": calls_by(qs, group_by="model__team__name"),
            "by_business_unit": calls_by(qs, group_by="model__team__business_unit"),
        },
    )
