"""The portfolio's table of models: the columns that fit a 1440 px screen on the page,
every KPI a model row has (and its errors per failure class) in the export."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.utils.html import format_html
from django.utils.safestring import SafeString

from kpiboard.portfolio import ModelRow, PortfolioOverview
from lifecycle.catalog.kpis import KpiDefinition, kpi_format
from lifecycle.catalog.links import industry_url, model_url, team_url
from lifecycle.catalog.models import FailureClass
from lifecycle.catalog.tables import Column, Table
from lifecycle.monitoring.kpis import ERRORS_BY_CLASS, INFERENCES, SHADOW_INFERENCES
from lifecycle.monitoring.kpis.engine import SERVING_IDS

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
        css_class="sortable",
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
                key="in_production",
                label="In production",
                value=lambda row: row.in_production,
                tooltip="Whether a version of the model was deployed in the production "
                "role during the window.",
            ),
            *(_errors_column(failure_class) for failure_class in FailureClass),
        ],
    )
