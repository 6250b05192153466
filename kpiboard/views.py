"""Pages that compose several phases (the portfolio), and the health check."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.defaults import page_not_found

from kpiboard import hub
from kpiboard.charts import bar_by_name, series_lines
from kpiboard.health import health_report
from kpiboard.portfolio import portfolio_overview
from lifecycle.catalog.filtersets import ServingEventFilterSet
from lifecycle.catalog.kpis import (
    KPI_DEFINITIONS,
    KpiRequest,
    KpiRequestError,
    kpi_request_build,
)
from lifecycle.catalog.models import Endpoint, ModelVersion, RegisteredModel
from lifecycle.deployment import charts as deployment_charts
from lifecycle.monitoring import charts as health_charts
from lifecycle.monitoring.kpis import ERROR_RATE, ERRORS, INFERENCES, LATENCY_P95

# What fits a 1440 px screen beside the names; the API answers every KPI of every model.
_KPI_COLUMNS = (
    "inferences",
    "throughput_per_day",
    "error_rate",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
)
_COLUMNS = (
    ("name", "Model"),
    ("industry", "Industry"),
    ("team", "Team"),
    ("serving_mode", "Serving mode"),
    *((key, KPI_DEFINITIONS[key].label) for key in _KPI_COLUMNS),
)


def portfolio(request: HttpRequest) -> HttpResponse:
    filters = ServingEventFilterSet(request.GET)
    context = {
        "filter_form": filters.form,
        "columns": _COLUMNS,
        "kpi_columns": _KPI_COLUMNS,
        "kpi_ids": set(_KPI_COLUMNS),
    }
    try:
        overview = portfolio_overview(kpi_request_build(query=request.GET, now=timezone.now()))
    except KpiRequestError as error:
        context["errors"] = error.errors
        return render(request, "portfolio.html", context, status=400)
    names = [row.model.name for row in overview.rows]
    context.update(
        overview=overview,
        time_range=overview.time_range,
        charts={
            "series": series_lines(
                frame=overview.series,
                columns={"inferences": INFERENCES, "errors": ERRORS},
                title="Inferences and errors over time",
            ),
            "inferences": bar_by_name(
                names=names,
                values=[r.summary.inferences for r in overview.rows],
                definition=INFERENCES,
            ),
            "error_rate": bar_by_name(
                names=names,
                values=[r.summary.error_rate for r in overview.rows],
                definition=ERROR_RATE,
                target=[r.model.sla_error_rate for r in overview.rows],
            ),
            "latency_p95": bar_by_name(
                names=names,
                values=[r.summary.latency_ms["p95"] for r in overview.rows],
                definition=LATENCY_P95,
                target=[r.model.sla_latency_p95_ms for r in overview.rows],
            ),
        },
    )
    return render(request, "portfolio.html", context)


def _subject_request(request: HttpRequest, **subject: str) -> tuple[dict, KpiRequest | None]:
    """The page's context so far and its KpiRequest narrowed to `subject` (model=, and
    version= or endpoint=), which the path names, so the filter bar offers the window
    only; None with the errors in the context when a filter cannot be read."""
    query = request.GET.copy()
    for key in ("model", "version", "endpoint"):
        query.pop(key, None)
    query.update(subject)
    context: dict = {"filter_form": ServingEventFilterSet(query).form, "window_only": True}
    try:
        return context, kpi_request_build(query=query, now=timezone.now())
    except KpiRequestError as error:
        context["errors"] = error.errors
        return context, None


def _subject_page(
    request: HttpRequest, template: str, context: dict, kpi_request: KpiRequest | None, build
) -> HttpResponse:
    """A version's or an endpoint's page: `build(kpi_request)` gives its hub, whose
    health is drawn as the model-health page draws it."""
    if kpi_request is None:
        return render(request, template, context, status=400)
    page = build(kpi_request)
    health = page.health
    context.update(
        hub=page,
        time_range=health.time_range,
        charts=health_charts.health_figures(health.series, health.incidents, health.time_range),
    )
    return render(request, template, context)


def model_page(request: HttpRequest, name: str) -> HttpResponse:
    """The model's hub: its facts, KPIs, versions, endpoints, lineage and timeline."""
    model = get_object_or_404(RegisteredModel.objects.select_related("team", "industry"), name=name)
    context, kpi_request = _subject_request(request, model=model.name)
    context["model"] = model
    if kpi_request is None:
        return render(request, "hub/model.html", context, status=400)
    found = hub.model_hub(model=model, request=kpi_request)
    context.update(
        hub=found,
        time_range=found.time_range,
        charts={
            "throughput": health_charts.throughput_chart(
                found.series["throughput"], found.incidents, found.time_range
            ),
            "timeline": deployment_charts.timeline_figure(
                found.timeline, time_range=found.time_range
            ),
        },
    )
    return render(request, "hub/model.html", context)


def version_page(request: HttpRequest, name: str, version: str) -> HttpResponse:
    found = get_object_or_404(
        ModelVersion.objects.select_related("model__team", "model__industry"),
        model__name=name,
        version=version,
    )
    context, kpi_request = _subject_request(request, model=name, version=version)
    context.update(model=found.model, version=found)
    return _subject_page(
        request,
        "hub/version.html",
        context,
        kpi_request,
        lambda kpi_request: hub.version_hub(version=found, request=kpi_request),
    )


def endpoint_page(request: HttpRequest, name: str, endpoint: str) -> HttpResponse:
    model = get_object_or_404(RegisteredModel.objects.select_related("team", "industry"), name=name)
    found = get_object_or_404(Endpoint, name=endpoint)
    context, kpi_request = _subject_request(request, model=name, endpoint=endpoint)
    context.update(model=model, endpoint=found)
    return _subject_page(
        request,
        "hub/endpoint.html",
        context,
        kpi_request,
        lambda kpi_request: hub.endpoint_hub(model=model, endpoint=found, request=kpi_request),
    )


def search(request: HttpRequest) -> HttpResponse:
    """Models, datasets and endpoints by name; a name that only one thing has exactly
    opens that thing's page."""
    results = hub.search(request.GET.get("q", ""))
    exact = [
        *(("model", m.name) for m in results.models if m.name == results.query),
        *(("dataset", d.name) for d in results.datasets if d.name == results.query),
    ]
    if len(exact) == 1 and not any(e.name == results.query for e in results.endpoints):
        kind, found = exact[0]
        return redirect("model" if kind == "model" else "dataprep:dataset", found)
    return render(request, "hub/search.html", {"results": results})


def healthz(request: HttpRequest) -> JsonResponse:
    report = health_report()
    return JsonResponse(report, status=200 if report["ok"] else 503)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A path under /api/ that matches no route answers JSON like every other API
    answer (and as the OpenAPI schema documents 404), not Django's HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)
