"""Figures of the model-health page: one line per version and endpoint, incidents shaded."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import plotly.graph_objects as go

from lifecycle.catalog.charts import (
    FAILURE_CLASS_COLOURS,
    PreviousPeriod,
    figure_json,
    previous_trace,
    series_colour,
)
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


def _groups(frame: pd.DataFrame) -> list[tuple[tuple[object, object], pd.DataFrame]]:
    if frame.empty:
        return []
    return list(frame.groupby(["version", "endpoint"], dropna=False))


def _colours(*frames: pd.DataFrame) -> dict[str, str]:
    """One colour per version and endpoint, the same for its previous period's line."""
    labels: dict[str, str] = {}
    for frame in frames:
        for (version, endpoint), _ in _groups(frame):
            label = _label(version, endpoint)
            labels.setdefault(label, series_colour(len(labels)))
    return labels


def throughput_chart(
    frame: pd.DataFrame,
    incidents: list[Incident],
    time_range: TimeRange,
    previous: PreviousPeriod | None = None,
) -> str:
    figure = go.Figure()
    before = previous.frames["throughput"] if previous else frame.iloc[0:0]
    colours = _colours(frame, before)
    for (version, endpoint), part in _groups(frame):
        part = zero_filled(part[["bucket", "inferences"]], time_range, ["inferences"])
        label = _label(version, endpoint)
        figure.add_trace(
            go.Scatter(
                x=part["bucket"],
                y=part["inferences"].tolist(),
                mode="lines",
                name=label,
                line={"color": colours[label]},
                hovertemplate=f"%{{x}}<br>{unit_hover(INFERENCES.unit)} inferences"
                "<extra>%{fullData.name}</extra>",
            )
        )
    for i, ((version, endpoint), part) in enumerate(_groups(before)):
        label = _label(version, endpoint)
        figure.add_trace(
            previous_trace(
                previous,
                part,
                "inferences",
                what=f"{label} inferences",
                unit=INFERENCES.unit,
                colour=colours[label],
                first=i == 0,
                count=True,
            )
        )
    _shade(figure, incidents, time_range.end)
    _window_axis(figure, time_range)
    figure.update_layout(title=f"{INFERENCES.label} per bucket", **_LAYOUT)
    return figure_json(figure)


_QUANTILE_DASHES = (("p50", "dot"), ("p95", "solid"), ("p99", "dash"))


def latency_chart(
    frame: pd.DataFrame,
    incidents: list[Incident],
    time_range: TimeRange,
    previous: PreviousPeriod | None = None,
) -> str:
    figure = go.Figure()
    before = previous.frames["latency"] if previous else frame.iloc[0:0]
    # One colour per version, endpoint and quantile, as plotly gave them before.
    colours = {
        f"{label} {quantile}": series_colour(i * len(_QUANTILE_DASHES) + j)
        for i, label in enumerate(_colours(frame, before))
        for j, (quantile, _) in enumerate(_QUANTILE_DASHES)
    }
    for (version, endpoint), part in _groups(frame):
        for quantile, dash in _QUANTILE_DASHES:
            name = f"{_label(version, endpoint)} {quantile}"
            figure.add_trace(
                go.Scatter(
                    x=part["bucket"],
                    y=part[quantile].tolist(),
                    mode="lines",
                    line={"dash": dash, "color": colours[name]},
                    name=name,
                    hovertemplate="%{x}<br>"
                    + unit_hover(Unit.MILLISECONDS)
                    + "<extra>%{fullData.name}</extra>",
                )
            )
    first = True
    for (version, endpoint), part in _groups(before):
        for quantile, _ in _QUANTILE_DASHES:
            name = f"{_label(version, endpoint)} {quantile}"
            figure.add_trace(
                previous_trace(
                    previous,
                    part,
                    quantile,
                    what=name,
                    unit=Unit.MILLISECONDS,
                    colour=colours[name],
                    first=first,
                )
            )
            first = False
    _shade(figure, incidents, time_range.end)
    _window_axis(figure, time_range)
    figure.update_layout(title="Latency p50 / p95 / p99 (ms)", **_LAYOUT)
    figure.update_yaxes(ticksuffix=" ms")
    return figure_json(figure)


def errors_chart(
    frame: pd.DataFrame,
    incidents: list[Incident],
    time_range: TimeRange | None = None,
    previous: PreviousPeriod | None = None,
) -> str:
    """Errors per bucket stacked by failure class (the monitoring page's, and a model's
    with its incidents shaded over its window); with `previous`, the previous period's
    failed inferences per bucket, all classes together, as a dotted line over them."""
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
    if previous is not None:
        before = previous.frames["errors"]
        per_bucket = before.groupby("bucket", as_index=False)["errors"].sum()
        figure.add_trace(
            previous_trace(
                previous,
                per_bucket,
                "errors",
                what=f"{ERRORS_BY_CLASS.label}, all classes",
                unit=ERRORS_BY_CLASS.unit,
                colour="#52606d",
                first=True,
                count=True,
            )
        )
    if time_range is not None:
        _shade(figure, incidents, time_range.end)
        # Served without failing, or not served at all: both draw no bar.
        _window_axis(figure, time_range, empty="No failed inference in this window")
    figure.update_layout(barmode="stack", title=ERRORS_BY_CLASS.label, **_LAYOUT)
    return figure_json(figure)


def health_figures(
    series: dict[str, pd.DataFrame],
    incidents: list[Incident],
    time_range: TimeRange,
    previous: PreviousPeriod | None = None,
) -> dict[str, str]:
    """A health page's three charts (throughput, latency, errors) from `health_series`,
    one above the other on the same window, incidents shaded, and the previous period
    overlaid when it was read (`previous_period_read`)."""
    return {
        "throughput": throughput_chart(series["throughput"], incidents, time_range, previous),
        "latency": latency_chart(series["latency"], incidents, time_range, previous),
        "errors": errors_chart(series["errors"], incidents, time_range, previous),
    }
