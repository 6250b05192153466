"""How every page's Plotly figure becomes the JSON that plotly.js draws."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

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
