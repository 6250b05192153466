"""The one formatter: every unit reads the same on every tile, table and hover."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.template import Context, Template

from lifecycle.catalog.kpis import KPI_DEFINITIONS, Unit, kpi_format, unit_d3_format, unit_hover


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (1234, Unit.COUNT, "1,234"),
        (0.0123, Unit.FRACTION, "1.23%"),
        (95.0, Unit.PERCENT, "95.00%"),
        (-2.5, Unit.POINTS, "-2.50 pts"),
        (1234.56, Unit.MILLISECONDS, "1,234.6 ms"),
        (1.5, Unit.HOURS, "1.50 h"),
        (2.25, Unit.DAYS, "2.25 d"),
        (1234.5, Unit.USD, "$1,234.50"),
        (-3.2, Unit.USD, "-$3.20"),
        # Below a cent: two significant digits, not "$0.00".
        (0.00025, Unit.USD, "$0.00025"),
        (Decimal("0.0040"), Unit.USD, "$0.0040"),
        (-0.003, Unit.USD, "-$0.0030"),
        (1e-9, Unit.USD, "$0.00000000"),
        (12.5, Unit.PER_MINUTE, "12.50 /min"),
        (750, Unit.PER_HOUR, "750.00 /h"),
        (18000, Unit.PER_DAY, "18,000.00 /d"),
        (3.5, Unit.PER_WEEK, "3.50 /week"),
        (0.1234, Unit.INDEX, "0.123"),
        (0.00012, Unit.P_VALUE, "0.0001"),
    ],
)
def test_it_formats_each_unit(value, unit, text):
    assert kpi_format(value, unit) == text


def test_it_covers_every_unit():
    for unit in Unit:
        assert kpi_format(1, unit)


@pytest.mark.parametrize("unit", list(Unit))
def test_it_says_na_for_a_missing_value_in_any_unit(unit):
    assert kpi_format(None, unit) == "n/a"
    assert kpi_format(None, unit, missing="unknown") == "unknown"


def test_it_separates_thousands_in_big_numbers():
    assert kpi_format(20_000_000_000, Unit.COUNT) == "20,000,000,000"
    assert kpi_format(1_234_567.891, Unit.USD) == "$1,234,567.89"
    assert kpi_format(12_345.678, Unit.FRACTION) == "1,234,567.80%"


def test_it_accepts_the_unit_value_clients_read():
    assert kpi_format(0.5, "fraction") == "50.00%"


def test_it_refuses_a_unit_outside_the_vocabulary():
    with pytest.raises(ValueError):
        kpi_format(1, "h")


def test_chart_hovers_read_as_the_tiles_do():
    assert unit_d3_format(Unit.FRACTION) == ",.2%"
    assert unit_hover(Unit.MILLISECONDS) == "%{y:,.1f} ms"
    assert unit_hover(Unit.USD) == "%{y:$,.2f}"
    assert unit_hover(Unit.COUNT, axis="x") == "%{x:,.0f}"


def test_every_defined_kpi_has_a_unit_of_the_vocabulary():
    import kpiboard.portfolio  # noqa: F401  (loads every phase's definitions)

    assert KPI_DEFINITIONS
    assert all(isinstance(d.unit, Unit) for d in KPI_DEFINITIONS.values())


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (86463, "count", "86,463"),
        (0.0123, "fraction", "1.23%"),
        (45.04, "ms", "45.0 ms"),
        (Decimal("12.5"), "USD", "$12.50"),
        (None, "days", "unknown"),
    ],
)
def test_a_table_cell_reads_its_number_as_a_tile_does(value, unit, shown):
    rendered = Template("{% load kpi_tags %}{{ value|in_unit:unit }}").render(
        Context({"value": value, "unit": unit})
    )
    assert rendered == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2026-11-10T05:01:59.123456+00:00", "2026-11-10 05:01 UTC"),
        ("2026-11-10T06:01:00+01:00", "2026-11-10 05:01 UTC"),
        (datetime(2026, 11, 10, 5, 1, 30), "2026-11-10 05:01 UTC"),  # naive: read as UTC
        (None, "unknown"),
        ("soon", "soon"),
    ],
)
def test_a_time_reads_to_the_minute_in_utc_saying_so(value, shown):
    rendered = Template("{% load kpi_tags %}{{ value|moment }}").render(Context({"value": value}))
    assert rendered == shown


def test_a_time_can_say_what_its_absence_means_and_show_seconds():
    template = Template('{% load kpi_tags %}{{ a|moment:"ongoing" }}|{{ b|moment_seconds }}')
    b = datetime(2026, 11, 10, 5, 1, 30, tzinfo=UTC)
    assert template.render(Context({"a": None, "b": b})) == "ongoing|2026-11-10 05:01:30 UTC"
