"""Plotly figures of the development phase, as JSON for plotly.js."""

from __future__ import annotations

import plotly.graph_objects as go

from lifecycle.catalog.charts import figure_json
from lifecycle.development.kpis import RunRow


def metrics_by_version_chart(*, by_version: dict[str, RunRow], names: list[str]) -> str:
    """One bar per metric and version: the latest run of each version, side by side."""
    figure = go.Figure()
    for name in names:
        figure.add_trace(
            go.Bar(
                x=list(by_version),
                y=[row.metrics.get(name) for row in by_version.values()],
                name=name,
                hovertemplate=f"%{{x}}<br>{name}: %{{y:.4g}}<extra>latest run</extra>",
            )
        )
    figure.update_layout(
        title="Training metrics by version (latest run of each)",
        barmode="group",
        height=320,
        margin={"l": 50, "r": 20, "t": 40, "b": 60},
    )
    return figure_json(figure)
