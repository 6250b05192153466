"""The value page's tables: calls per business unit, team and caller, and serving cost
per model, as the page shows them and as their CSV exports answer them."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from lifecycle.catalog.links import team_url
from lifecycle.catalog.tables import Column, Table, model_column
from lifecycle.value.kpis import CALLS, MODEL_COST
from lifecycle.value.kpis.calls import UNKNOWN, CallCount
from lifecycle.value.kpis.report import ValueReport


def _calls_column() -> Column:
    return Column.kpi(CALLS, lambda row: row.calls, label="Calls")


def _calls_table(
    name: str, label: str, rows: list[CallCount], link: Callable[[str], str] | None = None
) -> Table:
    return Table(
        name=name,
        rows=rows,
        empty="No calls.",
        columns=[
            Column(
                key="key",
                label=label,
                value=lambda row: row.key,
                # "(unknown)" gathers the calls without one: nothing to open.
                link=(lambda row: link(row.key) if row.key != UNKNOWN else None) if link else None,
            ),
            _calls_column(),
        ],
    )


def value_tables(report: ValueReport, query: Mapping[str, str]) -> dict[str, Table]:
    """The page's tables by name, in the order it shows them."""
    tables = [
        _calls_table("business_units", "Business unit", report.by_business_unit),
        _calls_table("teams", "Team", report.by_team, lambda team: team_url(team, query)),
        # No page narrows by caller yet, so a caller's name opens nothing.
        _calls_table("callers", "Caller", report.by_caller),
        Table(
            name="model_costs",
            rows=report.cost_by_model,
            empty="No calls.",
            columns=[
                model_column(lambda row: row.model, query),
                _calls_column(),
                Column.kpi(MODEL_COST, lambda row: row.cost_usd, label="Cost (USD)"),
            ],
        ),
    ]
    return {table.name: table for table in tables}
