"""Plotly figures of the business-value page, as JSON for plotly.js."""

from __future__ import annotations

import plotly.graph_objects as go

from lifecycle.catalog.charts import figure_json
from lifecycle.catalog.kpis import unit_hover
from lifecycle.value.kpis import CALLS, MODEL_COST, CallCount, ModelCost

_LAYOUT = {"margin": {"l": 60, "r": 20, "t": 40, "b": 80}, "height": 320}


def calls_by_business_unit(rows: list[CallCount]) -> str:
    figure = go.Figure(
        go.Bar(
            x=[r.key for r in rows],
            y=[r.calls for r in rows],
            name=CALLS.label,
            hovertemplate=f"%{{x}}: {unit_hover(CALLS.unit)}<extra></extra>",
        )
    )
    figure.update_layout(title="Calls by business unit", yaxis_title=CALLS.label, **_LAYOUT)
    return figure_json(figure)


def cost_by_model(rows: list[ModelCost]) -> str:
    figure = go.Figure(
        go.Bar(
            x=[r.model for r in rows],
            y=[float(r.cost_usd) for r in rows],
            name=MODEL_COST.label,
            hovertemplate=f"%{{x}}: {unit_hover(MODEL_COST.unit)}<extra></extra>",
        )
    )
    figure.update_layout(
        title=MODEL_COST.label, yaxis_title=f"{MODEL_COST.label} ({MODEL_COST.unit})", **_LAYOUT
    )
    return figure_json(figure)
