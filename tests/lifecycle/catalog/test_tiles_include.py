"""One tiles include: every page's tiles show the value through the one formatter, the
definition's tooltip, bounds and the previous period where given."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string

from lifecycle.catalog.kpis import KpiValue
from lifecycle.catalog.kpis.units import moment_format
from lifecycle.catalog.windows import TimeRange
from lifecycle.monitoring.kpis import ERROR_RATE, LABEL_DELAY_P50


def test_a_tile_shows_the_formatted_value_its_tooltip_and_its_change(now):
    period = TimeRange(now - timedelta(days=14), now - timedelta(days=7), "")
    before = KpiValue(ERROR_RATE, 0.012, period=period)
    kpi = KpiValue(ERROR_RATE, 0.0123, previous=before)
    html = render_to_string("_tiles.html", {"kpis": [kpi]})
    assert 'data-kpi="error_rate"' in html
    assert ">1.23%<" in html
    assert ERROR_RATE.tooltip in html
    # A fraction changes by points: (1.23% - 1.20%) = 0.03 pts, up, and an error rate
    # that rises is worse; the arrow is decoration, the words say it.
    points = f"{(0.0123 - 0.012) * 100:.2f} pts"
    assert f"{points} vs the 7 days before" in html
    assert 'class="tile-note tile-change change-worse"' in html
    assert '<span aria-hidden="true">▲</span>' in html
    assert "(worse; The 7 days before (" in html
    assert f"{moment_format(period.start)} to {moment_format(period.end)}): 1.20%" in html


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
