"""Monitoring's tables: incidents (of every model, or of one) and a model's serving KPIs
per version, as the pages show them and as their CSV exports answer them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.utils.html import format_html

from lifecycle.catalog.links import endpoint_url, version_url
from lifecycle.catalog.models import RegisteredModel
from lifecycle.catalog.seen import SeenInServing, name_with_badge
from lifecycle.catalog.tables import Column, Table, model_column
from lifecycle.monitoring.kpis import ServingSummary
from lifecycle.monitoring.kpis import definitions as kpi
from lifecycle.monitoring.models import Incident


def incidents_table(
    incidents: Sequence[Incident], query: Mapping[str, str], *, model: RegisteredModel | None = None
) -> Table:
    """Incidents of the filters; on one model's page (`model`) without the model column."""

    def endpoint_link(incident: Incident) -> str | None:
        if incident.endpoint is None:
            return None
        return endpoint_url(incident.model.name, incident.endpoint.name, query)

    columns = [
        Column.time("started_at", "Started", lambda i: i.started_at),
        Column.time("ended_at", "Ended", lambda i: i.ended_at, missing="ongoing"),
        model_column(lambda i: i.model.name, query, on_page=model is None),
        Column(
            key="endpoint",
            label="Endpoint",
            value=lambda i: i.endpoint.name if i.endpoint else None,
            display=lambda i: (
                name_with_badge(i.endpoint.name, i.endpoint.seen_in_serving_only)
                if i.endpoint
                else ""
            ),
            link=endpoint_link,
        ),
        Column(
            key="failure_class",
            label="Failure class",
            value=lambda i: i.failure_class,
            display=lambda i: i.get_failure_class_display(),
        ),
        Column(
            key="title",
            label="What happened",
            value=lambda i: i.title,
            display=lambda i: format_html("<b>{}</b> {}", i.title, i.description),
        ),
        Column(
            key="description", label="Description", value=lambda i: i.description, on_page=False
        ),
    ]
    return Table(
        name="incidents",
        html_id="incidents" if model is not None else "",
        rows=incidents,
        columns=columns,
        empty="No incident in this window.",
        row_attrs=(lambda i: {"data-failure-class": i.failure_class})
        if model is not None
        else None,
    )


def versions_table(
    model: RegisteredModel,
    versions: Sequence[tuple[str, ServingSummary, int]],
    query: Mapping[str, str],
    *,
    seen: SeenInServing,
) -> Table:
    """One model's serving KPIs per version (rows: (version name, its summary of
    requests, its shadow copies)); a version only serving has seen in `seen` knows."""
    return Table(
        name="versions",
        rows=versions,
        empty="No traffic in this window.",
        row_attrs=lambda row: {"data-version": str(row[0])},
        columns=[
            Column(
                key="version",
                label="Version",
                value=lambda row: str(row[0]),
                display=lambda row: name_with_badge(
                    str(row[0]), (model.name, str(row[0])) in seen.version_keys
                ),
                link=lambda row: version_url(model.name, str(row[0]), query),
            ),
            Column.kpi(kpi.INFERENCES, lambda row: row[1].inferences, label="Inferences"),
            Column.kpi(kpi.ERRORS, lambda row: row[1].errors, on_page=False),
            Column.kpi(kpi.ERROR_RATE, lambda row: row[1].error_rate, label="Error rate"),
            Column.kpi(kpi.LATENCY_P50, lambda row: row[1].latency_ms["p50"], label="Latency p50"),
            Column.kpi(kpi.LATENCY_P95, lambda row: row[1].latency_ms["p95"], label="Latency p95"),
            Column.kpi(kpi.LATENCY_P99, lambda row: row[1].latency_ms["p99"], label="Latency p99"),
            Column.kpi(
                kpi.SHADOW_INFERENCES,
                lambda row: row[2],
                label="Shadow copies",
                cell_attrs={"data-kpi": kpi.SHADOW_INFERENCES.id},
            ),
            Column.kpi(kpi.COST_USD, lambda row: float(row[1].cost_usd), on_page=False),
        ],
    )
