"""One tiles include: every page's tiles show the value through the one formatter, the
definition's tooltip, bounds and the previous period where given."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string

from lifecycle.catalog.kpis import KpiValue
from lifecycle.monitoring.kpis import ERROR_RATE, LABEL_DELAY_P50


def test_a_tile_shows_the_formatted_value_its_tooltip_and_the_previous_period():
    kpi = KpiValue(ERROR_RATE, 0.0123, previous=KpiValue(ERROR_RATE, 0.012))
    html = render_to_string("_tiles.html", {"kpis": [kpi], "previous_label": "the 7 days before"})
    assert 'data-kpi="error_rate"' in html
    assert ">1.23%<" in html
    assert "vs 1.20% the 7 days before" in html
    assert ERROR_RATE.tooltip in html


def test_a_tile_without_a_previous_period_says_nothing_of_one():
    html = render_to_string("_tiles.html", {"kpis": KpiValue(LABEL_DELAY_P50, None)})
    assert ">n/a<" in html and "data-previous" not in html
    html = render_to_string(
        "_tiles.html", {"kpis": [KpiValue(LABEL_DELAY_P50, 2.5)], "missing": "unknown"}
    )
    assert ">2.50 h<" in html


def test_no_template_but_the_include_writes_tile_markup():
    templates = Path(settings.BASE_DIR) / "templates"
    copies = [
        path.relative_to(templates).as_posix()
        for path in templates.rglob("*.html")
        if 'class="tile"' in path.read_text() and path.name != "_tiles.html"
    ]
    assert copies == []
