"""Pages that compose several phases (the portfolio), and the health check."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.defaults import page_not_found

from kpiboard.charts import bar_by_name, series_lines
from kpiboard.health import health_report
from kpiboard.portfolio import portfolio_overview
from kpiboard.tables import portfolio_models_table
from lifecycle.catalog.filtersets import ServingEventFilterSet
from lifecycle.catalog.kpis import KpiRequestError, kpi_request_build
from lifecycle.catalog.tables import table_export
from lifecycle.monitoring.kpis import ERROR_RATE, ERRORS, INFERENCES, LATENCY_P95


def portfolio(request: HttpRequest) -> HttpResponse:
    filters = ServingEventFilterSet(request.GET)
    context = {"filter_form": filters.form}
    try:
        overview = portfolio_overview(kpi_request_build(query=request.GET, now=timezone.now()))
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


def healthz(request: HttpRequest) -> JsonResponse:
    report = health_report()
    return JsonResponse(report, status=200 if report["ok"] else 503)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A path under /api/ that matches no route answers JSON like every other API
    answer (and as the OpenAPI schema documents 404), not Django's HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)
