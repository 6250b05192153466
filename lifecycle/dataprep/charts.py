"""Plotly figures of a dataset profile, as JSON for plotly.js."""

from __future__ import annotations

import itertools
from typing import Any

import plotly.graph_objects as go

from lifecycle.catalog.charts import figure_json
from lifecycle.catalog.kpis import Unit, unit_hover
from lifecycle.dataprep import profiles as fmt

_LAYOUT = {
    "margin": {"l": 50, "r": 20, "t": 40, "b": 60},
    "height": 300,
}


def kind_share_chart(profile: dict[str, Any]) -> str:
    shares = profile["dataset"].get("kind_shares") or {}
    figure = go.Figure(
        go.Pie(
            labels=list(shares),
            values=[round(v * 100, 2) for v in shares.values()],
            hole=0.4,
            hovertemplate=f"%{{label}}: {unit_hover(Unit.PERCENT, axis='value')} of columns"
            "<extra></extra>",
        )
    )
    figure.update_layout(title="Column kinds", **_LAYOUT)
    return figure_json(figure)


def missing_chart(profile: dict[str, Any]) -> str:
    columns = profile["column_profiles"]
    known = [c for c in columns if c["missing_pct"] is not None]
    figure = go.Figure(
        go.Bar(
            x=[c["name"] for c in known],
            y=[c["missing_pct"] for c in known],
            hovertemplate=f"%{{x}}: {unit_hover(Unit.PERCENT)} missing<extra></extra>",
        )
    )
    figure.update_layout(title="Missing % per column", yaxis={"ticksuffix": "%"}, **_LAYOUT)
    return figure_json(figure)


def histogram_chart(column: dict[str, Any]) -> str | None:
    numeric = column.get("numeric") or {}
    histogram = numeric.get("histogram")
    if not histogram:
        return None
    edges = histogram["edges"]
    centres = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
    approx = " (estimated)" if histogram.get("approx") else ""
    figure = go.Figure(
        go.Bar(
            x=centres,
            y=histogram["counts"],
            width=[b - a for a, b in itertools.pairwise(edges)],
            hovertemplate=f"around %{{x:.4g}}: {unit_hover(Unit.COUNT)} rows{approx}"
            "<extra></extra>",
        )
    )
    outliers = numeric.get("outliers")
    if outliers and numeric.get("quantiles"):
        q1, q3 = numeric["quantiles"]["0.25"], numeric["quantiles"]["0.75"]
        for fence in (q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)):
            figure.add_vline(x=fence, line_dash="dot", line_color="#d62728")
    figure.update_layout(title=f"{column['name']}{approx}", bargap=0.02, **_LAYOUT)
    return figure_json(figure)


def top_values_chart(column: dict[str, Any]) -> str | None:
    top = column.get("top_values")
    if not top or column["kind"] == fmt.NUMERIC or max(t["count"] for t in top) <= 1:
        return None  # nothing to see when every value appears once
    figure = go.Figure(
        go.Bar(
            x=[t["count"] for t in top][::-1],
            y=[str(t["value"])[:40] for t in top][::-1],
            orientation="h",
            hovertemplate=f"%{{y}}: {unit_hover(Unit.COUNT, axis='x')}<extra></extra>",
        )
    )
    approx = " (estimated)" if column.get("top_values_approx") else ""
    figure.update_layout(title=f"{column['name']}: top values{approx}", **_LAYOUT)
    return figure_json(figure)


def shares_chart(title: str, shares: dict[str, float] | None) -> str | None:
    if not shares:
        return None
    figure = go.Figure(
        go.Pie(
            labels=list(shares),
            values=list(shares.values()),
            hovertemplate=f"%{{label}}: {unit_hover(Unit.PERCENT, axis='value')}<extra></extra>",
        )
    )
    figure.update_layout(title=title, **_LAYOUT)
    return figure_json(figure)


def diff_chart(columns: list[Any]) -> str:
    rows = [c for c in columns if c.psi is not None]
    figure = go.Figure(
        go.Bar(
            x=[c.name for c in rows],
            y=[c.psi for c in rows],
            marker_color=["#d62728" if c.shifted else "#1f77b4" for c in rows],
            hovertemplate=f"%{{x}}: PSI {unit_hover(Unit.INDEX)}<extra></extra>",
        )
    )
    figure.add_hline(y=0.2, line_dash="dot", line_color="#d62728")
    figure.update_layout(title="Distribution shift per column (PSI)", **_LAYOUT)
    return figure_json(figure)
