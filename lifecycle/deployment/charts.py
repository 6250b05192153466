"""Plotly figures of the deployment pages, as JSON for plotly.js."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape

import pandas as pd
import plotly.graph_objects as go

from lifecycle.catalog.charts import FAILURE_CLASS_COLOURS, figure_json
from lifecycle.catalog.kpis import Unit, unit_hover
from lifecycle.catalog.kpis.units import moment_format
from lifecycle.catalog.models import FailureClass
from lifecycle.catalog.windows import TimeRange
from lifecycle.deployment.kpis import NEW_MODELS_DEPLOYED, TIME_TO_DEPLOY_MEDIAN
from lifecycle.deployment.models import ChangeKind
from lifecycle.deployment.timeline import TimelineEntry

_LAYOUT = {
    "margin": {"l": 60, "r": 20, "t": 40, "b": 60},
    "height": 320,
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
                # Points over their box, not beside it: a team with one version is a dot
                # on a line rather than a lone dot floating next to a flat box.
                pointpos=0,
                jitter=0.3,
                hovertemplate=unit_hover(Unit.DAYS) + f"<extra>{getattr(row, group)}</extra>",
            )
        )
    figure.update_layout(
        title=f"Time to deploy per {group} (days)",
        showlegend=False,
        yaxis={"title": "days", "rangemode": "tozero"},
        **_LAYOUT,
    )
    return figure_json(figure)


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
                hovertemplate=f"%{{x}}: {unit_hover(d.unit)}<br><i>{d.formula}</i><extra></extra>",
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
    figure.update_layout(
        title="Time to deploy by month",
        yaxis={"title": "median days", "rangemode": "tozero"},
        **_LAYOUT,
    )
    return figure_json(figure)


def new_models_per_month(frame: pd.DataFrame) -> str:
    figure = go.Figure(
        go.Bar(
            x=list(frame["month"]) if len(frame) else [],
            y=list(frame["new_models"]) if len(frame) else [],
            hovertemplate=f"%{{x}}: %{{y}} models<br><i>{NEW_MODELS_DEPLOYED.formula}</i>"
            "<extra></extra>",
        )
    )
    figure.update_layout(
        title="New models deployed per month", yaxis={"title": "models"}, **_LAYOUT
    )
    return figure_json(figure)


# Lifecycle order of the timeline's rows, top to bottom; kinds not listed go last.
_TIMELINE_ORDER = (
    ChangeKind.REGISTERED,
    ChangeKind.STAGE_CHANGED,
    ChangeKind.ALIAS_SET,
    ChangeKind.ALIAS_REMOVED,
    ChangeKind.PROMOTED,
    ChangeKind.DEPLOYED,
    ChangeKind.DEPLOYMENT_FAILED,
    ChangeKind.ROLLED_BACK,
    ChangeKind.UNDEPLOYED,
    "incident",
    ChangeKind.ARCHIVED,
    ChangeKind.DELETED,
)
# One colour per kind of change, chosen by meaning: failures and rollbacks red and
# orange, deploys blue, promotions green, registry bookkeeping grey; an incident in the
# colour its failure class has on every chart.
CHANGE_KIND_COLOURS: dict[str, str] = {
    ChangeKind.REGISTERED: "#7f7f7f",
    ChangeKind.STAGE_CHANGED: "#9e9e9e",
    ChangeKind.ALIAS_SET: "#17becf",
    ChangeKind.ALIAS_REMOVED: "#9edae5",
    ChangeKind.TAG_SET: "#c7c7c7",
    ChangeKind.TAG_REMOVED: "#c7c7c7",
    ChangeKind.STATUS_CHANGED: "#9e9e9e",
    ChangeKind.PROMOTED: "#2ca02c",
    ChangeKind.DEPLOYED: "#1f77b4",
    ChangeKind.DEPLOYMENT_FAILED: FAILURE_CLASS_COLOURS[FailureClass.DEPLOYMENT],
    ChangeKind.ROLLED_BACK: "#ff7f0e",
    ChangeKind.UNDEPLOYED: "#aec7e8",
    ChangeKind.ARCHIVED: "#525252",
    ChangeKind.DELETED: "#000000",
    "incident": FAILURE_CLASS_COLOURS[FailureClass.DOWNTIME],
}
# Below this the axis would zoom in to milliseconds when every entry shares one instant
# (plotly autoranges a single x value to about a millisecond).
TIMELINE_MIN_SPAN = timedelta(hours=1)


def _utc(moment: datetime) -> str:
    # plotly.js has no time zones: hand it UTC wall-clock times, as the table shows them.
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _at(moment: datetime) -> str:
    # A ledger time to the second: a poll interval can be seconds long.
    return moment_format(moment, seconds=True)


def timeline_x_range(
    entries: list[TimelineEntry], *, time_range: TimeRange
) -> tuple[datetime, datetime]:
    """The filter window, widened to every entry's interval and padded so edge dots show."""
    start = min([time_range.start, *(e.after for e in entries)])
    end = max([time_range.end, *(e.before for e in entries)])
    if end - start < TIMELINE_MIN_SPAN:
        middle = start + (end - start) / 2
        start, end = middle - TIMELINE_MIN_SPAN / 2, middle + TIMELINE_MIN_SPAN / 2
    pad = (end - start) * 0.02
    return start - pad, end + pad


def timeline_figure(entries: list[TimelineEntry], *, time_range: TimeRange) -> str:
    """One row per kind of change: a dot at the latest moment it can have happened and, for
    a polled change, a bar back to the earliest (the poll interval it lies in)."""
    order = {kind: i for i, kind in enumerate(_TIMELINE_ORDER)}
    labels = sorted(
        {e.label: str(e.kind) for e in entries}.items(),
        key=lambda item: (order.get(item[1], len(order)), item[0]),
    )
    figure = go.Figure()
    for label, kind in labels:
        # Colour by kind, so a kind keeps its colour whichever window is shown.
        colour = CHANGE_KIND_COLOURS.get(kind, "#7f7f7f")
        chosen = [e for e in entries if e.label == label]
        hover = [
            escape(
                f"v{e.version} · {label}" + (f": {e.detail}" if e.detail else ""),
                quote=False,
            )
            + "<br>"
            + (
                f"at {_at(e.before)} (exact)"
                if e.exact
                else f"happened between {_at(e.after)} and {_at(e.before)}"
            )
            + f"<br>source: {escape(e.source, quote=False)}"
            for e in chosen
        ]
        spans = [(e, text) for e, text in zip(chosen, hover, strict=True) if not e.exact]
        if spans:
            # A Gantt-style bar from happened_after (base) lasting the interval in ms, as
            # plotly express draws timelines: error bars on this date axis never showed.
            figure.add_trace(
                go.Bar(
                    orientation="h",
                    base=[_utc(e.after) for e, _ in spans],
                    x=[e.uncertainty.total_seconds() * 1000 for e, _ in spans],
                    y=[label] * len(spans),
                    width=0.5,
                    marker={
                        "color": colour,
                        "opacity": 0.45,
                        "line": {"color": colour, "width": 2},
                    },
                    name=f"{label} (poll interval)",
                    legendgroup=label,
                    showlegend=False,
                    text=[text for _, text in spans],
                    textposition="none",
                    hovertemplate="%{text}<extra></extra>",
                )
            )
        figure.add_trace(
            go.Scatter(
                x=[_utc(e.before) for e in chosen],
                y=[label] * len(chosen),
                mode="markers",
                marker={"color": colour, "size": 10, "line": {"color": "white", "width": 1}},
                name=label,
                legendgroup=label,
                text=hover,
                hovertemplate="%{text}<extra></extra>",
            )
        )
    low, high = timeline_x_range(entries, time_range=time_range)
    layout = {
        **_LAYOUT,
        "height": max(260, 140 + 48 * len(labels)),
        "showlegend": False,
        "barmode": "overlay",
        "margin": {**_LAYOUT["margin"], "l": 150},
    }
    figure.update_layout(
        title="Deployment timeline (UTC)",
        xaxis={"type": "date", "range": [_utc(low), _utc(high)]},
        yaxis={
            "type": "category",
            "categoryorder": "array",
            "categoryarray": [label for label, _ in labels],
            "autorange": "reversed",
        },
        **layout,
    )
    if not entries:
        figure.add_annotation(
            text="Nothing happened to this model in the window.",
            showarrow=False,
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
        )
        figure.update_yaxes(visible=False)
    return figure_json(figure)
