"""Data preparation's tables: the datasets, a dataset's versions, a version's columns
and the diff of two versions, as the pages show them and as their CSV exports answer
them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString

from lifecycle.catalog.kpis.units import moment_format
from lifecycle.catalog.links import dataset_url, dataset_version_url, team_url
from lifecycle.catalog.models import Dataset, DatasetVersion
from lifecycle.catalog.tables import Column, Table, cell_text, number_text
from lifecycle.catalog.times import time_parse
from lifecycle.dataprep.kpis import (
    COMPLETENESS,
    MISSING_CHANGE,
    PSI,
    RECORD_AGE,
    SHIFT_TEST,
    UPLOAD_AGE,
)
from lifecycle.dataprep.kpis.datasets import DatasetRow
from lifecycle.dataprep.kpis.diffs import ColumnDiff
from lifecycle.dataprep.profiles import OUTLIER_RULE_TEXT

_FUTURE = (
    ' <b class="errors" title="Newer than now: a clock or time-zone problem in the data">'
    "in the future</b>"
)


def _record_age(days: float | None) -> SafeString:
    """An age, flagged when it is below zero: data from the future is a clock problem."""
    flag = SafeString(_FUTURE) if days is not None and days < 0 else ""
    return format_html("{}{}", cell_text(days, RECORD_AGE.unit), flag)


def datasets_table(rows: Sequence[DatasetRow]) -> Table:
    def newest(row: DatasetRow) -> SafeString | str:
        if row.latest is None:
            return "none"
        return format_html(
            '<a href="{}">{}</a> · {}',
            dataset_version_url(row.dataset.name, row.latest.version),
            row.latest.version,
            moment_format(row.latest_version_at),
        )

    return Table(
        name="datasets",
        html_id="datasets-table",
        rows=rows,
        empty="No dataset matches these filters.",
        row_attrs=lambda row: {"data-dataset": row.dataset.name},
        columns=[
            Column(
                key="dataset",
                label="Dataset",
                value=lambda row: row.dataset.name,
                link=lambda row: dataset_url(row.dataset.name),
            ),
            Column(
                key="team",
                label="Team",
                value=lambda row: row.dataset.team.name,
                link=lambda row: team_url(row.dataset.team.name),
            ),
            Column(
                key="source",
                label="Source",
                value=lambda row: row.dataset.source,
                display=lambda row: row.dataset.get_source_display(),
            ),
            Column(key="versions", label="Versions", value=lambda row: row.versions, unit="count"),
            Column(
                key="newest_version",
                label="Newest version",
                value=lambda row: row.latest.version if row.latest else None,
                display=newest,
            ),
            Column(
                key="newest_version_at",
                label="Newest version uploaded",
                value=lambda row: row.latest_version_at,
                on_page=False,
            ),
            Column.kpi(UPLOAD_AGE, lambda row: row.upload_age_days),
            Column.kpi(
                RECORD_AGE,
                lambda row: row.record_age_days,
                display=lambda row: _record_age(row.record_age_days),
            ),
            Column.kpi(COMPLETENESS, lambda row: row.completeness_pct),
            Column(
                key="time_series",
                label="Time series",
                value=lambda row: row.time_series,
                on_page=False,
            ),
            Column(
                key="model_versions",
                label="Model versions trained on it",
                value=lambda row: row.model_versions,
                unit="count",
            ),
        ],
    )


def versions_table(dataset: Dataset, versions: Sequence[DatasetVersion]) -> Table:
    """A dataset's versions, newest first; a version without a profile has unknown facts."""

    def profiled(read: Callable[[Any], object]) -> Callable[[DatasetVersion], object]:
        def value(version: DatasetVersion) -> object:
            profile = getattr(version, "profile", None)
            return read(profile) if profile is not None else None

        return value

    return Table(
        name="versions",
        rows=versions,
        empty="No version yet.",
        columns=[
            Column(
                key="version",
                label="Version",
                value=lambda v: v.version,
                link=lambda v: dataset_version_url(dataset.name, v.version),
            ),
            Column.time("created_at", "Uploaded", lambda v: v.created_at),
            Column(
                key="source",
                label="Source",
                value=profiled(lambda p: p.source),
                display=lambda v: (
                    v.profile.get_source_display() if getattr(v, "profile", None) else "no profile"
                ),
            ),
            Column(key="rows", label="Rows", value=profiled(lambda p: p.rows), unit="count"),
            Column(
                key="columns", label="Columns", value=profiled(lambda p: p.columns), unit="count"
            ),
            Column.kpi(COMPLETENESS, profiled(lambda p: p.completeness_pct), label="Completeness"),
            Column.time(
                "newest_record_at", "Newest record", profiled(lambda p: p.newest_record_at)
            ),
        ],
    )


def _numeric(column: dict, key: str) -> object:
    numeric = column.get("numeric") or {}
    if key == "median":
        return (numeric.get("quantiles") or {}).get("0.5")
    return numeric.get(key)


def _datetime(column: dict, key: str) -> object:
    value = (column.get("datetime") or {}).get(key)
    # A profile stores times as ISO 8601 text; as times, they export in UTC like the rest.
    parsed = time_parse(value, assume_utc=True) if isinstance(value, str) else value
    return value if isinstance(parsed, str) else parsed


def _range_cells(column: dict) -> int:
    """How many of the six cells from Min to Outliers the first one spans: a column that
    is neither numeric nor a time has none of them."""
    return 1 if column.get("numeric") or column.get("datetime") else 6


def _statistic(key: str, label: str) -> Column:
    """Min, mean, std, median or max: a number of a numeric column; a time column has a
    min and a max (its earliest and latest), and says between them whether it is regular."""

    def value(row: tuple[dict, Any]) -> object:
        column = row[0]
        if column.get("numeric"):
            return _numeric(column, key)
        return _datetime(column, key) if key in ("min", "max") else None

    def display(row: tuple[dict, Any]) -> str:
        column = row[0]
        if column.get("numeric"):
            return number_text(_numeric(column, key))
        if not column.get("datetime"):
            return ""
        if key in ("min", "max"):
            return moment_format(_datetime(column, key))
        if key == "mean" and column["datetime"].get("time_series"):
            return f"regular, every {number_text(column['datetime'].get('step_seconds'))} s"
        return ""

    def span(row: tuple[dict, Any]) -> int:
        column = row[0]
        if key == "min":
            return _range_cells(column)
        # A time column's regularity spans mean, std and median.
        return 3 if key == "mean" and column.get("datetime") and not column.get("numeric") else 1

    return Column(key=key, label=label, value=value, display=display, colspan=span, numeric=True)


def _outliers(row: tuple[dict, Any]) -> str:
    column = row[0]
    if not column.get("numeric"):
        return ""
    outliers = column["numeric"].get("outliers")
    if not outliers:
        return "unknown"
    return ("≈" if outliers.get("approx") else "") + cell_text(outliers.get("pct"), "percent")


def _top_values(column: dict, limit: int | None = 3, width: int | None = 30) -> str:
    def shown(value: object) -> str:
        text = str(value)
        return text if width is None or len(text) <= width else text[: width - 1] + "…"

    tops = column.get("top_values") or []
    return ", ".join(f"{shown(t['value'])} ({number_text(t['count'])})" for t in tops[:limit])


def columns_table(column_charts: Sequence[tuple[dict, Any]]) -> Table:
    """A version's columns (rows: (column profile, its chart)); the export has every top
    value in full where the page shortens them."""
    return Table(
        name="columns",
        html_id="columns-table",
        rows=column_charts,
        empty="No column profiled.",
        row_attrs=lambda row: {"data-column": row[0]["name"]},
        columns=[
            Column(key="column", label="Column", value=lambda row: row[0]["name"]),
            Column(key="kind", label="Kind", value=lambda row: row[0].get("kind")),
            Column(
                key="missing_pct",
                label="Missing",
                value=lambda row: row[0].get("missing_pct"),
                unit="percent",
            ),
            Column(
                key="distinct",
                label="Distinct",
                value=lambda row: row[0].get("distinct"),
                display=lambda row: (
                    ("≈" if row[0].get("distinct_approx") else "")
                    + number_text(row[0].get("distinct"))
                ),
                numeric=True,
            ),
            Column(
                key="distinct_approx",
                label="Distinct is approximate",
                value=lambda row: bool(row[0].get("distinct_approx")),
                on_page=False,
            ),
            _statistic("min", "Min"),
            _statistic("mean", "Mean"),
            _statistic("std", "Std"),
            _statistic("median", "Median"),
            _statistic("max", "Max"),
            Column(
                key="outliers_pct",
                label="Outliers",
                value=lambda row: ((row[0].get("numeric") or {}).get("outliers") or {}).get("pct"),
                unit="percent",
                display=_outliers,
                tooltip=OUTLIER_RULE_TEXT,
            ),
            Column(
                key="top_values",
                label="Top values",
                value=lambda row: _top_values(row[0], limit=None, width=None),
                display=lambda row: _top_values(row[0]),
                numeric=False,
            ),
        ],
    )


def _kind_text(c: ColumnDiff) -> str:
    if c.base_kind != c.new_kind:
        return f"{c.base_kind or '—'} → {c.new_kind or '—'}"
    return c.new_kind or ""


def diff_table(columns: Sequence[ColumnDiff]) -> Table:
    return Table(
        name="diff",
        html_id="diff-table",
        rows=columns,
        empty="No column to compare.",
        row_attrs=lambda c: {"data-column": c.name, **({"class": "flagged"} if c.flagged else {})},
        columns=[
            Column(key="column", label="Column", value=lambda c: c.name),
            Column(key="base_kind", label="Base kind", value=lambda c: c.base_kind, on_page=False),
            Column(
                key="new_kind",
                label="Kind",
                export_label="New kind",
                value=lambda c: c.new_kind,
                display=_kind_text,
            ),
            Column(key="schema_change", label="Schema", value=lambda c: c.schema_change or ""),
            Column.kpi(MISSING_CHANGE, lambda c: c.missing_pct_change),
            Column.kpi(PSI, lambda c: c.psi),
            Column(
                key="test", label="Test", value=lambda c: c.test or "", tooltip=SHIFT_TEST.tooltip
            ),
            Column(
                key="statistic",
                label="Statistic",
                value=lambda c: c.statistic,
                display=lambda c: "" if c.statistic is None else f"{c.statistic:.3f}",
                numeric=True,
            ),
            Column(
                key="p_value",
                label="p-value",
                value=lambda c: c.p_value,
                unit=SHIFT_TEST.unit,
                display=lambda c: "" if c.p_value is None else f"{c.p_value:.2g}",
                tooltip=SHIFT_TEST.tooltip,
            ),
            Column(
                key="flagged",
                label="Flag",
                value=lambda c: c.flagged,
                display=lambda c: SafeString('<b class="errors">flagged</b>') if c.flagged else "",
            ),
        ],
    )
