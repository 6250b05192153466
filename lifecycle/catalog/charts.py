"""How every page's Plotly figure becomes the JSON that plotly.js draws, the house colours,
and the previous period a time-series chart overlays (`compare=previous`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from lifecycle.catalog.kpis.request import KpiRequest, period_words
from lifecycle.catalog.kpis.units import Unit, moment_format, unit_hover
from lifecycle.catalog.models import FailureClass
from lifecycle.catalog.serving.buckets import bucket_floor
from lifecycle.catalog.serving.scope import ServingScope
from lifecycle.catalog.serving.series import series_granularity, zero_filled
from lifecycle.catalog.windows import TimeRange

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


# The house colours in plotly's order: a series and its previous period share one.
SERIES_COLOURS: tuple[str, ...] = tuple(_TEMPLATE["layout"]["colorway"])


def series_colour(index: int) -> str:
    return SERIES_COLOURS[index % len(SERIES_COLOURS)]


@dataclass(frozen=True)
class PreviousPeriod:
    """The previous period's series, to overlay a time-series chart (`compare=previous`):
    `frames` as read, with their own bucket times (one frame per kind of series a chart
    needs), and `shift`, which moves them onto the current period's x axis, its first
    bucket onto the current first bucket."""

    frames: dict[str, pd.DataFrame]
    time_range: TimeRange
    shift: timedelta

    @property
    def name(self) -> str:
        """The legend's entry: "previous 7 days"."""
        return f"previous {period_words(self.time_range.duration)}"


def previous_period_read(
    request: KpiRequest, read: Callable[[ServingScope], dict[str, pd.DataFrame]]
) -> PreviousPeriod | None:
    """`read` over the previous period of `request` when it asks to compare with it
    (`compare=previous`), else None: a chart overlays only what was asked for."""
    if not request.compare_previous:
        return None
    before = request.previous()
    # First bucket onto first bucket: a named window's start is aligned and its previous
    # one's is not (it is as long as the window, which runs on to now), so shifting by
    # the length would put every previous point between two current ones.
    granularity = series_granularity(request.time_range)
    return PreviousPeriod(
        frames=read(before.serving_scope()),
        time_range=before.time_range,
        shift=bucket_floor(request.time_range.start, granularity=granularity)
        - bucket_floor(before.time_range.start, granularity=granularity),
    )


def previous_trace(
    previous: PreviousPeriod,
    frame: pd.DataFrame,
    column: str,
    *,
    what: str,
    unit: Unit,
    colour: str,
    first: bool,
    count: bool = False,
) -> go.Scatter:
    """`frame[column]` of the previous period as one line over the current axis: dotted
    and lighter, in the colour of the series it repeats, one legend entry for all of
    them (`first` shows it), its hover saying the real previous time. A `count` is
    zero-filled over the previous window, as the current series are."""
    if count:
        frame = zero_filled(frame[["bucket", column]], previous.time_range, [column])
    real = pd.DatetimeIndex(pd.to_datetime(frame["bucket"], utc=True))
    return go.Scatter(
        x=list(real + previous.shift),
        y=frame[column].tolist(),
        mode="lines",
        line={"dash": "dot", "width": 1.5, "color": colour},
        opacity=0.55,
        name=previous.name,
        legendgroup="previous",
        showlegend=first,
        customdata=[moment_format(t.to_pydatetime()) for t in real],
        hovertemplate=f"%{{customdata}}<br>{what}: {unit_hover(unit)}"
        f"<extra>{previous.name}</extra>",
    )
