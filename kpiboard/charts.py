"""Plotly figures for the pages, returned as JSON for plotly.js to draw."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from lifecycle.catalog.charts import figure_json
from lifecycle.catalog.kpis import KpiDefinition

_LAYOUT = {
    "margin": {"l": 60, "r": 20, "t": 40, "b": 80},
    "height": 320,
    "legend": {"orientation": "h", "y": 1.12, "x": 1, "xanchor": "right"},
    # Model names are long: let the axis take the room its labels need.
    "xaxis": {"automargin": True, "tickangle": -45},
    "yaxis": {"automargin": True},
}


def _unit_suffix(definition: KpiDefinition) -> str:
    # A fraction is shown as a percentage, which carries its own unit.
    return "" if definition.unit in ("fraction", "count") else f" {definition.unit}"


def _hover(definition: KpiDefinition, value_format: str) -> str:
    return (
        f"<b>%{{x}}</b><br>{definition.label}: %{{y:{value_format}}}{_unit_suffix(definition)}"
        f"<br><i>{definition.formula}</i><extra></extra>"
    )


def bar_by_name(
    *,
    names: Sequence[str],
    values: Sequence[float | None],
    definition: KpiDefinition,
    value_format: str = ",.0f",
    target: float | Sequence[float | None] | None = None,
    target_label: str = "SLA target",
) -> str:
    figure = go.Figure(
        go.Bar(
            x=list(names),
            y=list(values),
            name=definition.label,
            hovertemplate=_hover(definition, value_format),
        )
    )
    if target is not None:
        targets = [target] * len(names) if isinstance(target, int | float) else list(target)
        figure.add_trace(
            go.Scatter(
                x=list(names),
                y=targets,
                mode="markers",
                name=target_label,
                marker={"symbol": "line-ew-open", "size": 18, "color": "#d62728"},
                hovertemplate=f"{target_label}: %{{y:{value_format}}}<extra></extra>",
            )
        )
    figure.update_layout(title=definition.label, **_LAYOUT)
    if definition.unit == "fraction":
        figure.update_yaxes(tickformat=".1%")
    elif definition.unit != "count":
        figure.update_yaxes(ticksuffix=_unit_suffix(definition))
    return figure_json(figure)


def series_lines(*, frame: pd.DataFrame, columns: dict[str, KpiDefinition], title: str) -> str:
    figure = go.Figure()
    for column, definition in columns.items():
        figure.add_trace(
            go.Scatter(
                x=frame["bucket"] if len(frame) else [],
                y=frame[column] if len(frame) else [],
                mode="lines",
                name=definition.label,
                hovertemplate=f"%{{x}}<br>{definition.label}: %{{y:,}}"
                f"<br><i>{definition.formula}</i><extra></extra>",
            )
        )
    figure.update_layout(title=title, **_LAYOUT)
    return figure_json(figure)
