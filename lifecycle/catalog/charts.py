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
    data.setdefault("layout", {}).setdefault("template", _TEMPLATE)
    return pio.to_json(data, validate=False)


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
