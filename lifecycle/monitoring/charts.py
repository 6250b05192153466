"""Figures of the model-health page: one line per version and endpoint, incidents shaded."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import plotly.graph_objects as go

from lifecycle.catalog.charts import FAILURE_CLASS_COLOURS, figure_json
from lifecycle.catalog.kpis import Unit, unit_hover
from lifecycle.catalog.models import FailureClass
from lifecycle.catalog.serving.series import zero_filled
from lifecycle.catalog.windows import TimeRange
from lifecycle.monitoring.kpis import ERRORS_BY_CLASS, INFERENCES
from lifecycle.monitoring.models import Incident

_LAYOUT = {
    "height": 320,
    "margin": {"l": 60, "r": 20, "t": 40, "b": 40},
    "legend": {"orientation": "h", "y": -0.2},
}


def _label(version: str, endpoint: object) -> str:
    return f"v{version} @ {endpoint}" if isinstance(endpoint, str) and endpoint else f"v{version}"


def _shade(figure: go.Figure, incidents: Iterable[Incident], end: object) -> None:
    """Each incident as a shaded band with its failure class, so a spike meets its cause."""
    for incident in incidents:
        figure.add_vrect(
            x0=incident.started_at,
            x1=incident.ended_at or end,
            fillcolor="#d62728",
            opacity=0.12,
            line_width=0,
            annotation_text=incident.get_failure_class_display(),
            annotation_position="top left",
        )


def _window_axis(
    figure: go.Figure, time_range: TimeRange, empty: str = "No traffic in this window"
) -> None:
    """Every chart spans the whole window as dates, so the three line up under one
    another; a chart with nothing to draw says why (`empty`) rather than a bare grid."""
    figure.update_xaxes(type="date", range=[time_range.start, time_range.end])
    if not figure.data:
        figure.update_yaxes(visible=False)
        figure.add_annotation(
            text=empty,
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
            showarrow=False,
            font={"size": 14, "color": "#616e7c"},
        )


def throughput_chart(frame: pd.DataFrame, incidents: list[Incident], time_range: TimeRange) -> str:
    figure = go.Figure()
    for (version, endpoint), part in frame.groupby(["version", "endpoint"], dropna=False):
        part = zero_filled(part[["bucket", "inferences"]], time_range, ["inferences"])
        figure.add_trace(
            go.Scatter(
                x=part["bucket"],
                y=part["inferences"].tolist(),
                mode="lines",
                name=_label(version, endpoint),
                hovertemplate=f"%{{x}}<br>{unit_hover(INFERENCES.unit)} inferences"
                "<extra>%{fullData.name}</extra>",
            )
        )
    _shade(figure, incidents, time_range.end)
    _window_axis(figure, time_range)
    figure.update_layout(title=f"{INFERENCES.label} per bucket", **_LAYOUT)
    return figure_json(figure)


def latency_chart(frame: pd.DataFrame, incidents: list[Incident], time_range: TimeRange) -> str:
    figure = go.Figure()
    for (version, endpoint), part in frame.groupby(["version", "endpoint"], dropna=False):
        for quantile, dash in (("p50", "dot"), ("p95", "solid"), ("p99", "dash")):
            figure.add_trace(
                go.Scatter(
                    x=part["bucket"],
                    y=part[quantile].tolist(),
                    mode="lines",
                    line={"dash": dash},
                    name=f"{_label(version, endpoint)} {quantile}",
                    hovertemplate="%{x}<br>"
                    + unit_hover(Unit.MILLISECONDS)
                    + "<extra>%{fullData.name}</extra>",
                )
            )
    _shade(figure, incidents, time_range.end)
    _window_axis(figure, time_range)
    figure.update_layout(title="Latency p50 / p95 / p99 (ms)", **_LAYOUT)
    figure.update_yaxes(ticksuffix=" ms")
    return figure_json(figure)


def errors_chart(
    frame: pd.DataFrame, incidents: list[Incident], time_range: TimeRange | None = None
) -> str:
    """Errors per bucket stacked by failure class (the monitoring page's, and a model's
    with its incidents shaded over its window)."""
    figure = go.Figure()
    labels = dict(FailureClass.choices)
    for error_type, part in frame.groupby("error_type"):
        label = labels.get(error_type, error_type)
        figure.add_trace(
            go.Bar(
                x=part["bucket"],
                y=part["errors"].tolist(),
                name=label,
                marker_color=FAILURE_CLASS_COLOURS.get(error_type, "#7f7f7f"),
                hovertemplate=f"%{{x}}<br>{label}: {unit_hover(ERRORS_BY_CLASS.unit)}"
                f"<br><i>{ERRORS_BY_CLASS.formula}</i><extra></extra>",
            )
        )
    if time_range is not None:
        _shade(figure, incidents, time_range.end)
        # Served without failing, or not served at all: both draw no bar.
        _window_axis(figure, time_range, empty="No failed inference in this window")
    figure.update_layout(barmode="stack", title=ERRORS_BY_CLASS.label, **_LAYOUT)
    return figure_json(figure)


def health_figures(
    series: dict[str, pd.DataFrame], incidents: list[Incident], time_range: TimeRange
) -> dict[str, str]:
    """A health page's three charts (throughput, latency, errors) from `health_series`,
    one above the other on the same window, incidents shaded."""
    return {
        "throughput": throughput_chart(series["throughput"], incidents, time_range),
        "latency": latency_chart(series["latency"], incidents, time_range),
        "errors": errors_chart(series["errors"], incidents, time_range),
    }
