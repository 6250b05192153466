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
from kpiboard.tables import (
    deployments_table,
    model_callers_table,
    model_endpoints_table,
    model_versions_table,
    portfolio_models_table,
    version_runs_table,
)
from lifecycle.catalog.filtersets import ServingEventFilterSet
from lifecycle.catalog.kpis import (
    KpiRequest,
    KpiRequestError,
    kpi_request_build,
)
from lifecycle.catalog.models import Endpoint, ModelVersion, RegisteredModel
from lifecycle.catalog.tables import table_export
from lifecycle.deployment import charts as deployment_charts
from lifecycle.monitoring import charts as health_charts
from lifecycle.monitoring.kpis import ERROR_RATE, ERRORS, INFERENCES, LATENCY_P95


def portfolio(request: HttpRequest) -> HttpResponse:
    filters = ServingEventFilterSet(request.GET)
    context = {
        "filter_form": filters.form,
        # Its time-series chart can overlay the previous period: the filter bar offers it.
        "compare_offered": True,
    }
    try:
        overview = portfolio_overview(
            kpi_request_build(query=request.GET, now=timezone.now(), with_previous=True)
        )
    except KpiRequestError as error:
        context["errors"] = error.errors
        return render(request, "portfolio.html", context, status=400)
    models_table = portfolio_models_table(overview, request.GET)
    if export := table_export(
        request, [models_table], page="portfolio", time_range=overview.time_range
    ):
        return export
    names = [row.model.name for row in overview.rows]
    context.update(
        overview=overview,
        models_table=models_table,
        time_range=overview.time_range,
        charts={
            "series": series_lines(
                frame=overview.series,
                columns={"inferences": INFERENCES, "errors": ERRORS},
                title="Inferences and errors over time",
                previous=overview.previous,
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
    context: dict = {
        "filter_form": ServingEventFilterSet(query).form,
        "window_only": True,
        "compare_offered": True,
    }
    try:
        return context, kpi_request_build(query=query, now=timezone.now(), with_previous=True)
    except KpiRequestError as error:
        context["errors"] = error.errors
        return context, None


def _subject_page(
    request: HttpRequest,
    template: str,
    context: dict,
    kpi_request: KpiRequest | None,
    build,
    tables,
    *,
    page_name: str,
    subject: str,
) -> HttpResponse:
    """A version's or an endpoint's page: `build(kpi_request)` gives its hub, whose
    health is drawn as the model-health page draws it, and `tables(hub)` its tables."""
    if kpi_request is None:
        return render(request, template, context, status=400)
    page = build(kpi_request)
    health = page.health
    drawn = tables(page)
    if export := table_export(
        request, drawn, page=page_name, subject=subject, time_range=health.time_range
    ):
        return export
    context.update(
        hub=page,
        tables={table.name: table for table in drawn},
        time_range=health.time_range,
        charts=health_charts.health_figures(
            health.series, health.incidents, health.time_range, health.previous
        ),
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
    tables = [
        model_versions_table(found, request.GET),
        model_endpoints_table(found, request.GET),
        model_callers_table(found),
    ]
    if export := table_export(
        request, tables, page="model", subject=model.name, time_range=found.time_range
    ):
        return export
    context.update(
        hub=found,
        tables={table.name: table for table in tables},
        time_range=found.time_range,
        charts={
            "throughput": health_charts.throughput_chart(
                found.series["throughput"], found.incidents, found.time_range, found.previous
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
        lambda page: [
            deployments_table(page.deployments, request.GET, model=None),
            version_runs_table(page.training_runs),
        ],
        page_name="model-version",
        subject=f"{name}-{version}",
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
        lambda page: [deployments_table(page.deployments, request.GET, model=model)],
        page_name="model-endpoint",
        subject=f"{name}-{endpoint}",
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
