"""How every page's Plotly figure becomes the JSON that plotly.js draws."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

from lifecycle.catalog.models import FailureClass

# The house look, as plotly.js needs it: embedded in each figure.
_TEMPLATE = pio.templates["plotly_white"].to_plotly_json()


def figure_json(figure: go.Figure) -> str:
    """The figure as JSON in the house look (plotly's "plotly_white" template).

    The template is added to the finished figure's dict instead of being set on the
    figure: there plotly validated its several hundred properties again for every
    chart, about 35 ms each, half of the portfolio page's time."""
    data = figure.to_dict()
    layout = data.setdefault("layout", {})
    layout.setdefault("template", _TEMPLATE)
    if not _draws_anything(data) and not layout.get("annotations"):
        # A chart with nothing to draw says so, rather than leaving a bare grid.
        layout["annotations"] = [_NOTHING_TO_DRAW]
        layout.setdefault("xaxis", {})["visible"] = False
        layout.setdefault("yaxis", {})["visible"] = False
    return pio.to_json(data, validate=False)


_NOTHING_TO_DRAW = {
    "text": "Nothing to show for these filters and this window",
    "xref": "paper",
    "yref": "paper",
    "x": 0.5,
    "y": 0.5,
    "showarrow": False,
    "font": {"size": 14, "color": "#616e7c"},
}


def _draws_anything(data: dict) -> bool:
    return any(
        trace.get(key) is not None and len(trace[key]) > 0
        for trace in data.get("data", [])
        for key in ("x", "y", "z", "values")
    )


# One colour per failure class on every chart (reds and oranges for the system's own
# failures, muted for the caller's), so a class reads the same everywhere.
FAILURE_CLASS_COLOURS: dict[str, str] = {
    FailureClass.DEPENDENCY: "#ff7f0e",
    FailureClass.DEPLOYMENT: "#d62728",
    FailureClass.HARDWARE: "#8c564b",
    FailureClass.DOWNTIME: "#9b1c1c",
    FailureClass.TIMEOUT: "#e377c2",
    FailureClass.BAD_REQUEST: "#7f7f7f",
    FailureClass.OTHER: "#bcbd22",
}
assert set(FAILURE_CLASS_COLOURS) == set(FailureClass.values)
