"""Plotly figures of the deployment pages, as JSON for plotly.js."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from lifecycle.deployment.kpis import NEW_MODELS_DEPLOYED, TIME_TO_DEPLOY_MEDIAN
from lifecycle.deployment.timeline import TimelineEntry

_LAYOUT = {
    "margin": {"l": 60, "r": 20, "t": 40, "b": 60},
    "height": 320,
    "template": "plotly_white",
    "legend": {"orientation": "h", "y": -0.25},
}


def time_to_deploy_distribution(by_group: pd.DataFrame, *, group: str) -> str:
    figure = go.Figure()
    for row in by_group.itertuples(index=False):
        figure.add_trace(
            go.Box(
                y=list(row.days),
                name=str(getattr(row, group)),
                boxpoints="all",
                hovertemplate="%{y:.1f} days<extra>" + str(getattr(row, group)) + "</extra>",
            )
        )
    figure.update_layout(
        title=f"Time to deploy per {group} (days)",
        showlegend=False,
        **_LAYOUT,
    )
    return figure.to_json()


def time_to_deploy_trend(by_month: pd.DataFrame) -> str:
    d = TIME_TO_DEPLOY_MEDIAN
    figure = go.Figure()
    if not by_month.empty:
        figure.add_trace(
            go.Scatter(
                x=by_month["month"],
                y=by_month["median_days"],
                mode="lines+markers",
                name="median",
                hovertemplate=f"%{{x}}: %{{y:.1f}} days<br><i>{d.formula}</i><extra></extra>",
            )
        )
        figure.add_trace(
            go.Scatter(
                x=by_month["month"],
                y=by_month["median_low_days"],
                mode="lines",
                line={"dash": "dot"},
                name="lowest possible median (poll intervals)",
            )
        )
    figure.update_layout(title="Time to deploy by month", **_LAYOUT)
    return figure.to_json()


def new_models_per_month(frame: pd.DataFrame) -> str:
    figure = go.Figure(
        go.Bar(
            x=list(frame["month"]) if len(frame) else [],
            y=list(frame["new_models"]) if len(frame) else [],
            hovertemplate=f"%{{x}}: %{{y}} models<br><i>{NEW_MODELS_DEPLOYED.formula}</i>"
            "<extra></extra>",
        )
    )
    figure.update_layout(title="New models deployed per month", **_LAYOUT)
    return figure.to_json()


def timeline_figure(entries: list[TimelineEntry]) -> str:
    figure = go.Figure()
    kinds = sorted({e.label for e in entries})
    for label in kinds:
        chosen = [e for e in entries if e.label == label]
        figure.add_trace(
            go.Scatter(
                x=[e.before for e in chosen],
                y=[label] * len(chosen),
                mode="markers",
                name=label,
                text=[f"v{e.version} {e.detail}" for e in chosen],
                # The bar reaches back to the earliest moment the change can have happened.
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [0] * len(chosen),
                    "arrayminus": [e.uncertainty.total_seconds() * 1000 for e in chosen],
                },
                hovertemplate="%{x}<br>%{text}<extra>" + label + "</extra>",
            )
        )
    figure.update_layout(title="Deployment timeline", **{**_LAYOUT, "height": 380})
    return figure.to_json()
