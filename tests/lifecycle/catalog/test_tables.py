"""The table definition: what its CSV cells and headers say, how its page cells are
drawn, and how `?format=csv` picks a table or refuses."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.http import StreamingHttpResponse
from django.test import RequestFactory

from lifecycle.catalog.kpis import KpiDefinition
from lifecycle.catalog.kpis.definitions import Direction
from lifecycle.catalog.kpis.units import Unit
from lifecycle.catalog.tables import (
    Column,
    Table,
    csv_value,
    export_file_name,
    table_csv_rows,
    table_export,
)
from lifecycle.catalog.windows import TimeRange

ERROR_RATE = KpiDefinition(
    "error_rate", "monitoring", "Error rate", Unit.FRACTION, Direction.LOWER_IS_BETTER, "Errors."
)


@dataclass
class Side:
    group: str
    name: str
    change: float | None


def _table(rows: list[Side], name: str = "sides") -> Table:
    return Table(
        name=name,
        rows=rows,
        group=lambda row: row.group,
        columns=[
            Column(key="group", label="Group", value=lambda r: r.group, merge=True),
            Column(key="name", label="Name", value=lambda r: r.name, link=lambda r: f"/n/{r.name}"),
            Column(key="change", label="Change", value=lambda r: r.change, unit=Unit.POINTS),
            Column(key="secret", label="Hidden", value=lambda r: "x", on_page=False),
        ],
    )


def _parsed(table: Table) -> list[list[str]]:
    out = io.StringIO()
    csv.writer(out).writerows(table_csv_rows(table))
    return list(csv.reader(io.StringIO(out.getvalue())))


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_text_that_starts_like_a_formula_is_neutralised(start):
    assert csv_value(f"{start}HYPERLINK(1)") == f"'{start}HYPERLINK(1)"


def test_negative_numbers_stay_numbers_but_text_that_looks_negative_is_neutralised():
    assert csv_value(-2.5) == -2.5
    assert csv_value(-3) == -3
    assert csv_value(Decimal("-1.50")) == "-1.5"
    assert csv_value("-3") == "'-3"


def test_plain_values_are_machine_readable():
    # A pure formatter: the time never meets the clock.
    two_hours_east = timezone(timedelta(hours=2))
    assert csv_value(datetime(2026, 3, 1, 14, 0, tzinfo=two_hours_east)) == "2026-03-01T12:00:00Z"
    assert csv_value(None) == ""
    assert csv_value(float("nan")) == ""
    assert csv_value(True) == "true"
    assert csv_value(Decimal("10")) == "10"
    assert csv_value(timedelta(minutes=2)) == 120.0
    assert csv_value("fraud-scorer") == "fraud-scorer"


def test_the_header_names_the_unit_once():
    assert Column.kpi(ERROR_RATE, lambda r: None).header == "Error rate (fraction)"
    assert Column(key="m", label="Median (days)", value=str, unit=Unit.DAYS).header == (
        "Median (days)"
    )
    assert Column(key="e", label="Every", value=str, unit_label="minutes").header == (
        "Every (minutes)"
    )
    assert Column(key="n", label="Name", value=str).header == "Name"


def test_the_export_has_every_column_and_the_page_only_its_own():
    table = _table([Side("a", "=cmd", -1.25), Side("a", "b", None)])

    assert _parsed(table) == [
        ["Group", "Name", "Change (points)", "Hidden"],
        ["a", "'=cmd", "-1.25", "x"],
        ["a", "b", "", "x"],
    ]
    assert [c.label for c in table.page_columns] == ["Group", "Name", "Change"]


def test_the_page_merges_a_groups_cells_links_names_and_formats_numbers():
    rows = _table([Side("a", "x", -1.25), Side("a", "y", None), Side("b", "z", 2.0)]).html_rows()

    assert [[c.content for c in row.cells] for row in rows] == [
        ["a", "x", "-1.25 pts"],
        ["y", "unknown"],
        ["b", "z", "2.00 pts"],
    ]
    assert rows[0].cells[0].rowspan == 2
    assert [row.cells[-2].href for row in rows] == ["/n/x", "/n/y", "/n/z"]
    assert rows[0].cells[-1].numeric and not rows[0].cells[1].numeric


def test_a_cell_can_span_the_columns_after_it():
    table = Table(
        name="t",
        rows=[1, 2],
        columns=[
            Column(key="a", label="A", value=lambda r: r, colspan=lambda r: 2 if r == 1 else 1),
            Column(key="b", label="B", value=lambda r: r * 10),
        ],
    )

    cells = [[(c.content, c.colspan) for c in row.cells] for row in table.html_rows()]

    assert cells == [[("1", 2)], [("2", 1), ("20", 1)]]


def test_the_file_name_says_page_subject_table_and_window(now):
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=7)
    window = TimeRange(start, start + timedelta(days=7, minutes=5), "")

    name = export_file_name("model-health", "fraud/scorer v2", "versions", time_range=window)

    assert name == (
        f"model-health-fraud-scorer-v2-versions-{start:%Y-%m-%dT%H%M}Z-"
        f"{start + timedelta(days=7, minutes=5):%Y-%m-%dT%H%M}Z.csv"
    )
    assert start.tzinfo == UTC


def _export(query: str, tables: list[Table]):
    request = RequestFactory().get(f"/page/?{query}")
    return table_export(request, tables, page="page")


def test_the_export_is_streamed_as_an_attachment():
    response = _export("format=csv", [_table([Side("a", "b", 1.0)])])

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="page-sides.csv"'
    assert b"".join(response.streaming_content).decode().splitlines()[1] == "a,b,1.0,x"


def test_without_format_the_page_is_drawn():
    assert _export("window=7d", [_table([])]) is None


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ("format=xlsx", "format", "unknown format 'xlsx'"),
        ("format=csv&table=nope", "table", "unknown table 'nope'; use one of one, two"),
        ("format=csv", "table", "this page has several tables; use one of one, two"),
    ],
)
def test_an_unknown_format_or_table_is_a_400_naming_it(query, field, reason):
    response = _export(query, [_table([], "one"), _table([], "two")])

    assert response.status_code == 400
    assert response.content.decode().startswith(f"{field}: {reason}")
