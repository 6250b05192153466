"""Plotly figures for the pages, returned as JSON for plotly.js to draw."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from lifecycle.catalog.charts import PreviousPeriod, figure_json, previous_trace, series_colour
from lifecycle.catalog.kpis import KpiDefinition, Unit, unit_hover, unit_suffix

_LAYOUT = {
    "margin": {"l": 60, "r": 20, "t": 40, "b": 80},
    "height": 320,
    "legend": {"orientation": "h", "y": 1.12, "x": 1, "xanchor": "right"},
    # Model names are long: let the axis take the room its labels need.
    "xaxis": {"automargin": True, "tickangle": -45},
    "yaxis": {"automargin": True},
}


def _hover(definition: KpiDefinition) -> str:
    # The unit decides how a value reads, as on the tiles.
    return (
        f"<b>%{{x}}</b><br>{definition.label}: {unit_hover(definition.unit)}"
        f"<br><i>{definition.formula}</i><extra></extra>"
    )


def bar_by_name(
    *,
    names: Sequence[str],
    values: Sequence[float | None],
    definition: KpiDefinition,
    target: float | Sequence[float | None] | None = None,
    target_label: str = "SLA target",
) -> str:
    figure = go.Figure(
        go.Bar(
            x=list(names),
            y=list(values),
            name=definition.label,
            hovertemplate=_hover(definition),
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
                hovertemplate=f"{target_label}: {unit_hover(definition.unit)}<extra></extra>",
            )
        )
    figure.update_layout(title=definition.label, **_LAYOUT)
    if definition.unit is Unit.FRACTION:
        figure.update_yaxes(tickformat=".1%")
    elif definition.unit is not Unit.COUNT:
        figure.update_yaxes(ticksuffix=unit_suffix(definition.unit))
    return figure_json(figure)


def series_lines(
    *,
    frame: pd.DataFrame,
    columns: dict[str, KpiDefinition],
    title: str,
    previous: PreviousPeriod | None = None,
) -> str:
    """One line per column over time; with `previous` (its frame "series" has the same
    columns), each column's previous period too, dotted over the same axis."""
    figure = go.Figure()
    for i, (column, definition) in enumerate(columns.items()):
        figure.add_trace(
            go.Scatter(
                x=frame["bucket"] if len(frame) else [],
                y=frame[column] if len(frame) else [],
                mode="lines",
                name=definition.label,
                line={"color": series_colour(i)},
                hovertemplate=f"%{{x}}<br>{definition.label}: {unit_hover(definition.unit)}"
                f"<br><i>{definition.formula}</i><extra></extra>",
            )
        )
    if previous is not None:
        before = previous.frames["series"]
        for i, (column, definition) in enumerate(columns.items()):
            figure.add_trace(
                previous_trace(
                    previous,
                    before,
                    column,
                    what=definition.label,
                    unit=definition.unit,
                    colour=series_colour(i),
                    first=i == 0,
                )
            )
    figure.update_layout(title=title, **_LAYOUT)
    return figure_json(figure)
