"""The tables of the pages that compose phases: the portfolio's models (the columns that
fit a 1440 px screen on the page, every KPI a model row has and its errors per failure
class in the export), and a model's versions, endpoints, deployments and runs."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from urllib.parse import urlencode

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from kpiboard.hub import ModelHub
from kpiboard.portfolio import ModelRow, PortfolioOverview
from lifecycle.catalog.kpis import KpiDefinition, kpi_format
from lifecycle.catalog.links import (
    dataset_version_url,
    endpoint_url,
    industry_url,
    model_url,
    team_url,
    version_url,
)
from lifecycle.catalog.models import Deployment, FailureClass, RegisteredModel
from lifecycle.catalog.seen import name_with_badge, registered_column
from lifecycle.catalog.tables import Column, Table, linked_list, model_column, number_text
from lifecycle.development.kpis import RunRow
from lifecycle.monitoring.kpis import (
    ERROR_RATE,
    ERRORS,
    ERRORS_BY_CLASS,
    INFERENCES,
    LATENCY_P50,
    LATENCY_P95,
    LATENCY_P99,
    SHADOW_INFERENCES,
    SLA_COMPLIANCE,
    ServingSummary,
)
from lifecycle.monitoring.kpis.engine import SERVING_IDS
from lifecycle.value.kpis import CALLS

# What fits a 1440 px screen beside the names; the export (and the API) has every KPI.
PAGE_KPI_IDS = (
    "inferences",
    "throughput_per_day",
    "error_rate",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
)
# The KPIs of a model row, in the order the model API answers them.
ROW_KPIS = tuple(kpi for kpi in SERVING_IDS if kpi is not ERRORS_BY_CLASS)


def _kpi_column(definition: KpiDefinition) -> Column:
    key = definition.id
    shown = key in PAGE_KPI_IDS
    return Column.kpi(
        definition,
        lambda row, key=key: row.kpis[key].value if key in row.kpis else None,
        on_page=shown,
        sort_key=key if shown else None,
        cell_attrs={"data-kpi": key},
        display=_inferences_and_copies if key == INFERENCES.id else None,
    )


def _inferences_and_copies(row: ModelRow) -> SafeString:
    """A model's requests, and below them its shadow copies where it has any."""
    requests = row.kpis[INFERENCES.id]
    copies = row.kpis.get(SHADOW_INFERENCES.id)
    if copies is None or not copies.value:
        return format_html("{}", kpi_format(requests.value, INFERENCES.unit))
    return format_html(
        '{}<br><small class="shadow-copies" data-kpi="{}" title="{}">+ {} shadow</small>',
        kpi_format(requests.value, INFERENCES.unit),
        SHADOW_INFERENCES.id,
        SHADOW_INFERENCES.tooltip,
        kpi_format(copies.value, SHADOW_INFERENCES.unit),
    )


def _misses(row: ModelRow) -> tuple:
    sla = row.kpis.get(SLA_COMPLIANCE.id)
    return (sla.misses or ()) if sla is not None else ()


def _sla_missed(row: ModelRow) -> SafeString | str:
    """The targets the model missed (the first three; all in the title), "met", or n/a
    for a model without targets or traffic."""
    sla = row.kpis.get(SLA_COMPLIANCE.id)
    if sla is None or sla.value is None:
        return "n/a"
    misses = _misses(row)
    if not misses:
        return "met"
    return render_to_string("_misses.html", {"misses": misses, "brief": True})


def _errors_column(failure_class: FailureClass) -> Column:
    return Column(
        key=f"errors_{failure_class.value}",
        label=f"Errors: {failure_class.label}",
        unit="count",
        value=lambda row: row.summary.errors_by_class.get(failure_class.value, 0),
        tooltip=f"Failed inferences of the class {failure_class.label.lower()}.",
        on_page=False,
    )


def _catalog_column(
    key: str, label: str, url: Callable[[str, Mapping[str, str]], str], query: Mapping[str, str]
) -> Column:
    """The model's industry or team, linked to the portfolio narrowed to it."""
    return Column(
        key=key,
        label=label,
        value=lambda row: getattr(row.model, key).name,
        link=lambda row: url(getattr(row.model, key).name, query),
        sort_key=key,
    )


def portfolio_models_table(overview: PortfolioOverview, query: Mapping[str, str]) -> Table:
    def name(row: ModelRow) -> str:
        return row.model.name

    return Table(
        name="models",
        html_id="models-table",
        css_class="sortable wrap-heads",
        rows=overview.rows,
        sort=overview.sort,
        missing="n/a",
        empty="No model matches these filters.",
        row_attrs=lambda row: {"data-model": name(row)},
        columns=[
            Column(
                key="name",
                label="Model",
                value=name,
                link=lambda row: model_url(name(row), query),
                title=lambda row: f"{name(row)}: versions, endpoints, lineage and health",
                sort_key="name",
            ),
            _catalog_column("industry", "Industry", industry_url, query),
            _catalog_column("team", "Team", team_url, query),
            Column(
                key="serving_mode",
                label="Serving mode",
                value=lambda row: row.model.serving_mode,
                display=lambda row: row.model.get_serving_mode_display(),
                sort_key="serving_mode",
            ),
            *(_kpi_column(kpi) for kpi in ROW_KPIS),
            _kpi_column(SHADOW_INFERENCES),
            Column(
                key="sla_missed",
                label="SLA missed",
                value=lambda row: "; ".join(m.comparison for m in _misses(row)),
                display=_sla_missed,
                tooltip=SLA_COMPLIANCE.tooltip,
                cell_attrs={"data-kpi": SLA_COMPLIANCE.id},
            ),
            Column(
                key="in_production",
                label="In production",
                value=lambda row: row.in_production,
                tooltip="Whether a version of the model was deployed in the production "
                "role during the window.",
            ),
            *(_errors_column(failure_class) for failure_class in FailureClass),
        ],
    )


# --- the model, version and endpoint pages -----------------------------------------------


def _deployment_badge(deployment: Deployment) -> SafeString:
    """Role and, for what answers requests, its declared share: "production 100.00%"."""
    share = (
        ""
        if deployment.role == "shadow"
        else f" {kpi_format(deployment.traffic_share, 'fraction')}"
    )
    return format_html(
        '<span class="badge {}">{}{}</span>',
        deployment.role,
        deployment.get_role_display().lower(),
        share,
    )


def _serving_text(deployments: list[Deployment], name: Callable[[Deployment], str]) -> str:
    return "; ".join(
        f"{name(d)} {d.role}" + ("" if d.role == "shadow" else f" {float(d.traffic_share):g}")
        for d in deployments
    )


def _summary_columns(summary: Callable[[object], ServingSummary]) -> list[Column]:
    """A row's requests, error rate and p95 on the page; errors and p50/p99 in the export."""
    return [
        Column.kpi(INFERENCES, lambda row: summary(row).inferences, label="Inferences"),
        Column.kpi(ERRORS, lambda row: summary(row).errors, on_page=False),
        Column.kpi(ERROR_RATE, lambda row: summary(row).error_rate, label="Error rate"),
        Column.kpi(LATENCY_P50, lambda row: summary(row).latency_ms["p50"], on_page=False),
        Column.kpi(LATENCY_P95, lambda row: summary(row).latency_ms["p95"], label="Latency p95"),
        Column.kpi(LATENCY_P99, lambda row: summary(row).latency_ms["p99"], on_page=False),
    ]


def model_versions_table(hub: ModelHub, query: Mapping[str, str]) -> Table:
    """A model's versions, newest first: lineage, runs, where each serves, its traffic."""
    model = hub.overview.model
    return Table(
        name="versions",
        html_id="versions-table",
        css_class="wrap-heads",
        rows=hub.versions,
        empty="No version registered.",
        row_attrs=lambda row: {"data-version": row.version.version},
        columns=[
            Column(
                key="version",
                label="Version",
                value=lambda row: row.version.version,
                display=lambda row: name_with_badge(
                    row.version.version, row.version.seen_in_serving_only
                ),
                link=lambda row: version_url(model.name, row.version.version, query),
            ),
            registered_column(lambda row: row.version),
            Column(
                key="trained_on",
                label="Trained on",
                value=lambda row: ", ".join(str(d) for d in row.datasets),
                display=lambda row: linked_list(
                    (
                        (str(d), dataset_version_url(d.dataset.name, d.version))
                        for d in row.datasets
                    ),
                    empty="unknown",
                ),
            ),
            Column(
                key="training_runs",
                label="Runs",
                value=lambda row: row.training_runs,
                unit="count",
                tooltip="Training runs recorded for the version",
                link=lambda row: (
                    (
                        reverse("development:model", args=[model.name])
                        + "?"
                        + urlencode({"version": row.version.version})
                    )
                    if row.training_runs
                    else None
                ),
            ),
            Column(
                key="serving",
                label="Serving at the window's end",
                value=lambda row: _serving_text(row.serving, lambda d: d.endpoint.name),
                display=lambda row: (
                    format_html_join(
                        SafeString("<br>"),
                        '<a href="{}">{}</a> {}',
                        (
                            (
                                endpoint_url(model.name, d.endpoint.name, query),
                                d.endpoint.name,
                                _deployment_badge(d),
                            )
                            for d in row.serving
                        ),
                    )
                    or "not deployed"
                ),
                tooltip="The endpoints the version served on at the window's end, in which role "
                "and with which declared share of the endpoint's traffic",
            ),
            *_summary_columns(lambda row: row.summary),
            Column.kpi(SHADOW_INFERENCES, lambda row: row.shadow_copies, label="Shadow copies"),
        ],
    )


def model_endpoints_table(hub: ModelHub, query: Mapping[str, str]) -> Table:
    """The endpoints a model was deployed on or served on, and who shares them."""
    model = hub.overview.model
    return Table(
        name="endpoints",
        html_id="endpoints-table",
        rows=hub.endpoints,
        empty="Never deployed or served on an endpoint.",
        row_attrs=lambda row: {"data-endpoint": row.endpoint.name},
        columns=[
            Column(
                key="endpoint",
                label="Endpoint",
                value=lambda row: row.endpoint.name,
                display=lambda row: name_with_badge(
                    row.endpoint.name, row.endpoint.seen_in_serving_only
                ),
                link=lambda row: endpoint_url(model.name, row.endpoint.name, query),
            ),
            Column(
                key="serving",
                label="This model's versions at the window's end",
                value=lambda row: _serving_text(row.serving, lambda d: d.model_version.version),
                display=lambda row: (
                    format_html_join(
                        ", ",
                        '<a href="{}">{}</a> {}',
                        (
                            (
                                version_url(model.name, d.model_version.version, query),
                                d.model_version.version,
                                _deployment_badge(d),
                            )
                            for d in row.serving
                        ),
                    )
                    or "none"
                ),
            ),
            Column(
                key="shared_with",
                label="Shared with",
                value=lambda row: ", ".join(row.shared_with),
                display=lambda row: linked_list(
                    ((name, model_url(name, query)) for name in row.shared_with),
                    empty="no other model",
                ),
            ),
            *_summary_columns(lambda row: row.summary),
            Column.kpi(SHADOW_INFERENCES, lambda row: row.shadow_copies, label="Shadow copies"),
        ],
    )


def deployments_table(
    deployments: list[Deployment], query: Mapping[str, str], *, model: RegisteredModel | None
) -> Table:
    """Deployments, newest first: of one version (`model` None: the version's own page),
    or on one endpoint, every model's, `model`'s neighbours greyed."""
    on_endpoint = model is not None

    def share(d: Deployment) -> SafeString:
        if d.role == "shadow":
            return SafeString(
                '<span title="A shadow sees copies of the traffic and answers none of it">'
                "copies</span>"
            )
        return format_html("{}", kpi_format(d.traffic_share, "fraction"))

    def attrs(d: Deployment) -> dict[str, str]:
        found = {"data-version": d.model_version.version, "data-endpoint": d.endpoint.name}
        if on_endpoint and d.model_version.model_id != model.pk:
            found["class"] = "other-model"
        return found

    return Table(
        name="deployments",
        html_id="deployments-table",
        rows=deployments,
        empty="Nothing was ever deployed here; the events name it."
        if on_endpoint
        else "Never deployed.",
        row_attrs=attrs,
        columns=[
            model_column(lambda d: d.model_version.model.name, query, on_page=on_endpoint),
            Column(
                key="version",
                label="Version",
                value=lambda d: d.model_version.version,
                link=lambda d: version_url(
                    d.model_version.model.name, d.model_version.version, query
                ),
                on_page=on_endpoint,
            ),
            Column(
                key="endpoint",
                label="Endpoint",
                value=lambda d: d.endpoint.name,
                link=lambda d: endpoint_url(d.model_version.model.name, d.endpoint.name, query),
                on_page=not on_endpoint,
            ),
            Column(
                key="role",
                label="Role",
                value=lambda d: d.role,
                display=lambda d: format_html(
                    '<span class="badge {}">{}</span>', d.role, d.get_role_display().lower()
                ),
            ),
            Column(
                key="traffic_share",
                label="Traffic share",
                value=lambda d: float(d.traffic_share),
                unit="fraction",
                display=share,
            ),
            Column.time("started_at", "Started", lambda d: d.started_at),
            Column.time("ended_at", "Ended", lambda d: d.ended_at, missing="serving"),
        ],
    )


def version_runs_table(runs: list[RunRow]) -> Table:
    """A version's training runs with every metric they recorded."""
    return Table(
        name="runs",
        html_id="runs-table",
        rows=runs,
        empty="No training run recorded for this version.",
        row_attrs=lambda row: {"data-run": row.run_id},
        columns=[
            Column(
                key="run_id",
                label="Run",
                value=lambda row: row.run_id,
                display=lambda row: format_html(
                    '<code title="{}">{}</code>', row.run_id, Truncator(row.run_id).chars(15)
                ),
            ),
            Column.time("started_at", "Started", lambda row: row.started_at),
            Column(
                key="dataset_version",
                label="Dataset version",
                value=lambda row: str(row.dataset_version) if row.dataset_version else None,
                link=lambda row: (
                    dataset_version_url(
                        row.dataset_version.dataset.name, row.dataset_version.version
                    )
                    if row.dataset_version
                    else None
                ),
            ),
            Column(
                key="metrics",
                label="Metrics",
                value=lambda row: json.dumps(row.metrics, sort_keys=True),
                display=lambda row: (
                    " · ".join(
                        f"{name} {number_text(value)}" for name, value in row.metrics.items()
                    )
                    or "none recorded"
                ),
            ),
        ],
    )


def model_callers_table(hub: ModelHub) -> Table:
    """Who called the model in the window: its calls per caller, most first."""
    return Table(
        name="callers",
        html_id="callers-table",
        rows=hub.callers,
        empty="No calls in this window.",
        columns=[
            # A caller has no page of its own yet: its name opens nothing.
            Column(key="caller", label="Caller", value=lambda row: row.key),
            Column.kpi(CALLS, lambda row: row.calls, label="Calls"),
        ],
    )
