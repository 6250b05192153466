"""The one figure serialiser: the house look, and a chart with nothing to draw says so."""

from __future__ import annotations

import json

import plotly.graph_objects as go

from lifecycle.catalog.charts import figure_json


def test_a_chart_with_nothing_to_draw_says_so():
    empty = json.loads(figure_json(go.Figure(go.Bar(x=[], y=[]))))
    notes = [a["text"] for a in empty["layout"]["annotations"]]
    assert notes == ["Nothing to show for these filters and this window"]
    assert empty["layout"]["xaxis"]["visible"] is False


def test_a_chart_with_points_or_its_own_note_is_left_alone():
    drawn = json.loads(figure_json(go.Figure(go.Bar(x=["a"], y=[1]))))
    assert "annotations" not in drawn["layout"]
    explained = go.Figure()
    explained.add_annotation(text="No traffic in this window", showarrow=False)
    notes = [a["text"] for a in json.loads(figure_json(explained))["layout"]["annotations"]]
    assert notes == ["No traffic in this window"]
