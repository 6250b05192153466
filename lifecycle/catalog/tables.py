"""A table shown on a page and exported as CSV from one definition.

A `Table` is named columns over rows a view already computed. Each `Column` says what
its cells are once: a label, a unit (or the KPI definition that has one), the machine
value of a row, and optionally how the page shows it and where it links. The page draws
every table through one include (`templates/_table.html`), and `?format=csv&table=<name>`
answers the same rows through `table_export`: the same filters and sort, every column
(also those the page leaves out for width), numbers as plain numbers, times in ISO 8601
UTC, text that a spreadsheet would run as a formula neutralised.
"""

from __future__ import annotations

import csv
import numbers
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from lifecycle.catalog.kpis import KpiDefinition, Unit, kpi_format
from lifecycle.catalog.kpis.units import moment_format
from lifecycle.catalog.links import model_url
from lifecycle.catalog.windows import TimeRange

Row = Any
# How the page shows a cell: text (escaped) or SafeString (format_html) when it needs markup.
Display = Callable[[Row], str | SafeString]

# OWASP's list: a cell starting with one of these is read as a formula by spreadsheets.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FILE_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    # The machine value of a row's cell: a number, text, time, bool or None.
    value: Callable[[Row], object]
    unit: Unit | str | None = None
    # The unit the export's header names where it is not one of the KPI units (the page
    # then shows the value as `display` says): "s", "minutes".
    unit_label: str = ""
    tooltip: str = ""
    # How the page shows the cell when the unit's formatter does not (None: formatted).
    display: Display | None = None
    link: Callable[[Row], str | None] | None = None
    # The cell's title on the page (the full text of a shortened one).
    title: Callable[[Row], str] | None = None
    # False: only in the export (the page keeps to 1440 px).
    on_page: bool = True
    # False: only on the page (a link to another view of the row, not a fact of it).
    in_export: bool = True
    # The export's header where the page's label says more than this column holds.
    export_label: str = ""
    # The query value that sorts the page by this column (a sortable table's header).
    sort_key: str | None = None
    # Consecutive rows of one group (`Table.group`) show this cell once, spanning them.
    merge: bool = False
    # How many page columns the row's cell spans (the cells it covers are not drawn).
    colspan: Callable[[Row], int] | None = None
    numeric: bool | None = None
    # Attributes of each of its cells (data-kpi="...", for scripts and tests that find it).
    cell_attrs: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def kpi(cls, definition: KpiDefinition, value: Callable[[Row], object], **kw: Any) -> Column:
        """A column of one KPI: its label, unit and tooltip from the definition."""
        kw.setdefault("key", definition.id)
        kw.setdefault("label", definition.label)
        kw.setdefault("tooltip", definition.tooltip)
        return cls(value=value, unit=definition.unit, **kw)

    @classmethod
    def time(
        cls,
        key: str,
        label: str,
        value: Callable[[Row], datetime | None],
        *,
        missing: str = "unknown",
        seconds: bool = False,
        **kw: Any,
    ) -> Column:
        """A time: to the minute (or second) in UTC on the page, ISO 8601 in the export."""
        return cls(
            key=key,
            label=label,
            value=value,
            display=lambda row: moment_format(value(row), seconds=seconds, missing=missing),
            **kw,
        )

    @property
    def header(self) -> str:
        """The CSV header: the label, and the unit the numbers are in when it is not
        already in the label ("Error rate (fraction)", "Median (days)")."""
        label = self.export_label or self.label
        unit = self.unit_label or (Unit(self.unit).value if self.unit else "")
        if not unit or f"({unit})" in label:
            return label
        return f"{label} ({unit})"

    @property
    def is_numeric(self) -> bool:
        if self.numeric is not None:
            return self.numeric
        return self.unit is not None or bool(self.unit_label)


@dataclass(frozen=True)
class Cell:
    content: str | SafeString
    href: str | None = None
    title: str = ""
    numeric: bool = False
    rowspan: int = 1
    colspan: int = 1
    attrs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HtmlRow:
    attrs: dict[str, str]
    cells: list[Cell]


@dataclass
class Table:
    name: str  # `?table=<name>` and part of the export's file name
    columns: Sequence[Column]
    rows: Sequence[Row]
    empty: str = "No rows."
    html_id: str = ""
    css_class: str = ""
    # The attributes of a row's <tr> (data-model="...", class="flagged").
    row_attrs: Callable[[Row], dict[str, str]] | None = None
    # Rows sharing a group show the columns marked `merge` once (see Column.merge).
    group: Callable[[Row], object] | None = None
    # The current sort of a sortable table (its headers link to the other sorts).
    sort: str = ""
    # The page's text for a missing value.
    missing: str = "unknown"

    @property
    def page_columns(self) -> list[Column]:
        return [c for c in self.columns if c.on_page]

    @property
    def export_columns(self) -> list[Column]:
        return [c for c in self.columns if c.in_export]

    def html_rows(self) -> list[HtmlRow]:
        columns = self.page_columns
        groups = [self.group(row) if self.group else i for i, row in enumerate(self.rows)]
        drawn = []
        for i, row in enumerate(self.rows):
            cells = []
            covered = 0
            for column in columns:
                if covered:
                    covered -= 1
                    continue
                span = column.colspan(row) if column.colspan else 1
                covered = span - 1
                rowspan = 1
                if column.merge and self.group is not None:
                    if i and groups[i - 1] == groups[i]:
                        continue
                    while i + rowspan < len(groups) and groups[i + rowspan] == groups[i]:
                        rowspan += 1
                cells.append(self._cell(column, row, rowspan=rowspan, colspan=span))
            attrs = self.row_attrs(row) if self.row_attrs else {}
            drawn.append(HtmlRow(attrs=attrs, cells=cells))
        return drawn

    def _cell(self, column: Column, row: Row, *, rowspan: int, colspan: int) -> Cell:
        if column.display is not None:
            content = column.display(row)
        else:
            content = cell_text(column.value(row), column.unit, missing=self.missing)
        return Cell(
            content=content,
            href=column.link(row) if column.link else None,
            title=column.title(row) if column.title else column.tooltip,
            numeric=column.is_numeric,
            rowspan=rowspan,
            colspan=colspan,
            attrs=column.cell_attrs,
        )


def _is_missing(value: object) -> bool:
    # NaN and NaT (pandas' missing values) are the only values unequal to themselves.
    return value is None or value != value


def _is_number(value: object) -> bool:
    # numpy's integers are numbers.Integral, not int; a bool is not a number here.
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def cell_text(value: object, unit: Unit | str | None, *, missing: str = "unknown") -> str:
    """A cell as the page shows it when its column says nothing else: numbers through the
    one formatter, times through `moment_format`."""
    if _is_missing(value):
        return missing
    if unit is not None and _is_number(value):
        return kpi_format(value, unit, missing=missing)
    if isinstance(value, datetime):
        return moment_format(value, missing=missing)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def number_text(value: float | int | None, *, missing: str = "unknown") -> str:
    """A number without a unit (a training metric, a profile statistic): whole numbers
    with thousands separators, others to four significant digits."""
    # A template passes "" for an attribute of a missing object (a version not profiled).
    if value is None or value == "":
        return missing
    if isinstance(value, int) or (float(value).is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    return f"{value:,.4g}"


def csv_value(value: object) -> object:
    """A cell of the export: numbers stay numbers (a negative one too), times are ISO 8601
    in UTC, and text that starts like a formula is prefixed with ' so that a spreadsheet
    shows it rather than running it."""
    if _is_missing(value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        # 1.50000 reads 1.5; normalize() alone would write 10 as 1E+1.
        return format(value.normalize(), "f")
    if _is_number(value):
        return value
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def table_csv_rows(table: Table) -> Iterator[list[object]]:
    """The header row (labels with units), then one row per row of the table."""
    columns = table.export_columns
    yield [column.header for column in columns]
    for row in table.rows:
        yield [csv_value(column.value(row)) for column in columns]


class _Echo:
    """The pseudo-buffer csv.writer writes into: each row comes back as its text, for
    the streaming response to send (as Django's documentation streams a large CSV)."""

    def write(self, value: str) -> str:
        return value


def table_csv_stream(table: Table) -> Iterator[str]:
    writer = csv.writer(_Echo())
    return (writer.writerow(row) for row in table_csv_rows(table))


def export_file_name(*parts: str, time_range: TimeRange | None = None) -> str:
    """E.g. portfolio-models-2026-11-27T1800Z-2026-12-04T1800Z.csv: the page, its
    subject, the table and the time range, in characters every file system takes."""
    named = [_FILE_NAME_UNSAFE.sub("-", p).strip("-") for p in parts if p]
    if time_range is not None:
        named += [f"{t.astimezone(UTC):%Y-%m-%dT%H%MZ}" for t in (time_range.start, time_range.end)]
    return "-".join(n for n in named if n) + ".csv"


def _bad_request(field: str, reason: str) -> HttpResponse:
    return HttpResponse(
        f"{field}: {reason}\n", status=400, content_type="text/plain; charset=utf-8"
    )


def table_export(
    request: HttpRequest,
    tables: Iterable[Table],
    *,
    page: str,
    subject: str = "",
    time_range: TimeRange | None = None,
) -> HttpResponse | None:
    """The CSV of the table `?table=` names when the request asks `?format=csv`, streamed;
    a 400 naming the parameter for an unknown format or table; None for the page."""
    wanted = request.GET.get("format")
    if not wanted:
        return None
    if wanted != "csv":
        return _bad_request("format", f"unknown format {wanted!r}; use csv")
    by_name = {t.name: t for t in tables}
    name = request.GET.get("table") or (next(iter(by_name)) if len(by_name) == 1 else "")
    if name not in by_name:
        known = ", ".join(by_name)
        reason = f"unknown table {name!r}" if name else "this page has several tables"
        return _bad_request("table", f"{reason}; use one of {known}")
    table = by_name[name]
    response = StreamingHttpResponse(
        table_csv_stream(table), content_type="text/csv; charset=utf-8"
    )
    file_name = export_file_name(page, subject, table.name, time_range=time_range)
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response


def model_column(model_name: Callable[[Row], str], query: Mapping[str, str], **kw: Any) -> Column:
    """The model a row is of, linked to its page (with the page's time filters)."""
    kw.setdefault("key", "model")
    kw.setdefault("label", "Model")
    return Column(value=model_name, link=lambda row: model_url(model_name(row), query), **kw)


def linked_list(items: Iterable[tuple[str, str | None]], *, empty: str) -> SafeString | str:
    """Several names in one cell, each linked where it has a page, comma separated."""
    parts = [
        format_html('<a href="{}">{}</a>', href, text) if href else text for text, href in items
    ]
    if not parts:
        return empty
    return format_html_join(", ", "{}", ((part,) for part in parts))
