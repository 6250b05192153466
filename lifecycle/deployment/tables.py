"""Deployment's tables: time to deploy per model, team and industry, champion vs
challenger, the traffic split, a model's timeline, the registries and a registry's
recent changes, as the pages show them and as their CSV exports answer them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from lifecycle.catalog.kpis import KPI_DEFINITIONS, kpi_format
from lifecycle.catalog.kpis.units import moment_format
from lifecycle.catalog.links import endpoint_url, industry_url, team_url, version_url
from lifecycle.catalog.models import RegisteredModel
from lifecycle.catalog.seen import SeenInServing, name_with_badge
from lifecycle.catalog.tables import Column, Table, model_column
from lifecycle.deployment.kpis import TIME_TO_DEPLOY_MEDIAN
from lifecycle.deployment.kpis.endpoints import Comparison, SideSummary
from lifecycle.deployment.kpis.overview import DeploymentOverview
from lifecycle.deployment.models import LifecycleChange, Registry
from lifecycle.deployment.templatetags.deployment_tags import duration_words, number, percent
from lifecycle.deployment.timeline import TimelineEntry

Query = Mapping[str, str]


def _records(frame: pd.DataFrame | None) -> list[Any]:
    return [] if frame is None else list(frame.itertuples(index=False))


def _attribute(
    key: str, label: str, unit: str, shown: Callable[[float | None], str], **kw: Any
) -> Column:
    """The number in the row's attribute `key`, shown as `shown` formats it."""
    return Column(
        key=key,
        label=label,
        value=lambda row: getattr(row, key),
        unit=unit,
        display=lambda row: shown(getattr(row, key)),
        **kw,
    )


def _days(key: str, label: str, **kw: Any) -> Column:
    return _attribute(key, label, "days", number, **kw)


def _export_count(key: str, label: str, value: Callable[[Any], object]) -> Column:
    return Column(key=key, label=label, value=value, unit="count", on_page=False)


def _versions(label: str) -> Column:
    return Column(key="versions", label=label, value=lambda row: row.versions, unit="count")


def time_to_deploy_tables(overview: DeploymentOverview, query: Query) -> list[Table]:
    """Per model, per team and per industry: the versions that reached production in
    the window and their time to deploy."""
    by = overview.time_to_deploy_by
    by_model = Table(
        name="time_to_deploy_by_model",
        html_id="ttd-by-model",
        css_class="sortable",
        rows=_records(by.get("model")),
        empty="No version reached production in this window.",
        row_attrs=lambda row: {"data-model": row.model},
        columns=[
            model_column(lambda row: row.model, query),
            _versions("Versions reaching production"),
            _days("median_days", "Median (days)", tooltip=TIME_TO_DEPLOY_MEDIAN.tooltip),
            _days("mean_days", "Mean (days)"),
            _days(
                "median_low_days",
                "Lowest possible median",
                tooltip="The median if every polled deployment happened at the start of its "
                "poll interval.",
            ),
            Column(
                key="timeline",
                label="Timeline",
                value=lambda row: "timeline",
                link=lambda row: reverse("deployment:timeline", args=[row.model]),
                in_export=False,
            ),
        ],
    )
    groups = []
    for key, label, url in (("team", "Team", team_url), ("industry", "Industry", industry_url)):
        groups.append(
            Table(
                name=f"time_to_deploy_by_{key}",
                html_id=f"ttd-by-{key}",
                rows=_records(by.get(key)),
                empty="No version reached production in this window.",
                columns=[
                    Column(
                        key=key,
                        label=label,
                        value=lambda row, key=key: getattr(row, key),
                        link=lambda row, key=key, url=url: url(getattr(row, key), query),
                    ),
                    _versions("Versions"),
                    _days("median_days", "Median (days)"),
                    _days("mean_days", "Mean (days)"),
                ],
            )
        )
    return [by_model, *groups]


@dataclass(frozen=True)
class ComparisonSide:
    """One row of the champion vs challenger table: a comparison seen from one side."""

    comparison: Comparison
    side: SideSummary
    champion: bool


def _accuracy_text(side: SideSummary) -> str:
    if not side.labelled:
        return "no labels yet"
    return f"{percent(side.accuracy)} ({side.labelled})"


def comparisons_table(
    comparisons: Sequence[Comparison], query: Query, *, seen: SeenInServing
) -> Table:
    rows = [
        ComparisonSide(c, side, side is c.champion)
        for c in comparisons
        for side in (c.champion, c.challenger)
    ]
    return Table(
        name="champion_challenger",
        html_id="champion-challenger",
        rows=rows,
        empty="No shadow or canary version served beside a production one in this window.",
        # The two sides of one comparison share its endpoint, model and agreement cells.
        group=lambda row: id(row.comparison),
        columns=[
            Column(
                key="endpoint",
                label="Endpoint",
                value=lambda row: row.comparison.endpoint,
                display=lambda row: name_with_badge(
                    row.comparison.endpoint, row.comparison.endpoint in seen.endpoint_names
                ),
                link=lambda row: endpoint_url(row.comparison.model, row.comparison.endpoint, query),
                merge=True,
            ),
            model_column(lambda row: row.comparison.model, query, merge=True),
            Column(
                key="side",
                label="Side",
                value=lambda row: "champion" if row.champion else row.side.role,
            ),
            Column(
                key="version",
                label="Version",
                value=lambda row: row.side.version,
                display=lambda row: name_with_badge(
                    row.side.version, (row.comparison.model, row.side.version) in seen.version_keys
                ),
                link=lambda row: version_url(row.comparison.model, row.side.version, query),
            ),
            Column(
                key="inferences",
                label="Inferences",
                value=lambda r: r.side.inferences,
                unit="count",
            ),
            Column(
                key="error_rate",
                label="Error rate",
                value=lambda row: row.side.error_rate,
                unit="fraction",
                display=lambda row: percent(row.side.error_rate),
            ),
            *(
                Column(
                    key=key,
                    label=label,
                    value=lambda row, key=key: getattr(row.side, key),
                    unit="ms",
                    display=lambda row, key=key: number(getattr(row.side, key)),
                )
                for key, label in (("latency_p50_ms", "p50 (ms)"), ("latency_p95_ms", "p95 (ms)"))
            ),
            Column(
                key="accuracy",
                label="Accuracy",
                value=lambda row: row.side.accuracy,
                unit="fraction",
                display=lambda row: _accuracy_text(row.side),
                tooltip="Share of labelled events whose prediction equals the label",
            ),
            _export_count("labelled", "Labelled events", lambda row: row.side.labelled),
            Column(
                key="agreement",
                label="Agreement",
                value=lambda row: row.comparison.agreement,
                unit="fraction",
                display=lambda row: (
                    f"{percent(row.comparison.agreement)} of {row.comparison.paired}"
                    if row.comparison.paired
                    else "no paired events"
                ),
                tooltip="The newest challenger events (up to 500) paired with the champion's "
                "on the same features within 2 s, and the share whose predictions agree "
                "(classes equal; scores in [0, 1] on the same side of 0.5; other numbers "
                "within 1%)",
                merge=True,
            ),
            _export_count("paired", "Paired events", lambda row: row.comparison.paired),
            Column(
                key="start",
                label="Compared from",
                value=lambda row: row.comparison.start,
                on_page=False,
            ),
            Column(
                key="end",
                label="Compared until",
                value=lambda row: row.comparison.end,
                on_page=False,
            ),
        ],
    )


def _share(key: str, label: str, tooltip: str) -> Column:
    return _attribute(key, label, "fraction", percent, tooltip=tooltip)


def _declared_share(row: Any) -> SafeString:
    """The share declared at the window's end, "ended" when the deployment no longer
    served then, flagged when the endpoint's declared shares do not add up to 100%."""
    if row.declared_share is None:
        return SafeString("ended")
    shown = format_html("{}", kpi_format(row.declared_share, "fraction"))
    if row.declared_adds_up is False:
        return format_html(
            '{} <span class="warn" title="The shares declared on this endpoint at the '
            "window's end add up to {}, not 100%\">⚠</span>",
            shown,
            kpi_format(row.declared_total, "fraction"),
        )
    return shown


def traffic_split_table(
    frame: pd.DataFrame | None, query: Query, *, seen: SeenInServing, end: datetime
) -> Table:
    """Per endpoint and version: the share declared at the window's end (`end`) beside
    the share of the endpoint's requests it answered, and its shadow copies."""
    return Table(
        name="traffic_split",
        html_id="traffic-split",
        rows=_records(frame),
        empty="No deployment matches these filters.",
        row_attrs=lambda row: {"data-endpoint": row.endpoint, "data-version": row.version},
        columns=[
            Column(
                key="endpoint",
                label="Endpoint",
                value=lambda row: row.endpoint,
                display=lambda row: format_html(
                    "{}{}",
                    name_with_badge(row.endpoint, row.endpoint in seen.endpoint_names),
                    SafeString(' <span class="badge">multi-model</span>') if row.models > 1 else "",
                ),
                link=lambda row: endpoint_url(row.model, row.endpoint, query),
            ),
            model_column(lambda row: row.model, query),
            Column(
                key="version",
                label="Version",
                value=lambda row: row.version,
                display=lambda row: name_with_badge(
                    row.version, (row.model, row.version) in seen.version_keys
                ),
                link=lambda row: version_url(row.model, row.version, query),
            ),
            Column(
                key="roles",
                label="Role",
                value=lambda row: " -> ".join(row.roles),
                display=lambda row: format_html_join(
                    " → ", '<span class="badge {}">{}</span>', ((r, r) for r in row.roles)
                ),
                tooltip="The roles the version held on the endpoint in the window, in order",
            ),
            Column(
                key="declared_share",
                label="Declared share at end",
                value=lambda row: row.declared_share,
                unit="fraction",
                display=_declared_share,
                tooltip="The share of the endpoint's traffic its deployment declares at the "
                f"window's end ({moment_format(end)}); ended: it no longer served then. A "
                "shadow sees copies and declares 0%.",
                cell_attrs={"data-share": "declared"},
            ),
            Column(
                key="observed_share",
                label="Observed share in window",
                value=lambda row: row.observed_share,
                unit="fraction",
                tooltip="The share of the endpoint's requests in the window this version "
                "answered (shadow copies are not requests)",
                cell_attrs={"data-share": "observed"},
            ),
            # Monitoring defines both counts; a phase reads another's through the registry.
            Column.kpi(KPI_DEFINITIONS["inferences"], lambda row: row.inferences, label="Requests"),
            Column.kpi(
                KPI_DEFINITIONS["shadow_inferences"],
                lambda row: row.shadow_copies,
                label="Shadow copies",
            ),
            _export_count("models", "Models on the endpoint", lambda row: row.models),
        ],
    )


def seen_in_serving_table(seen: SeenInServing, query: Query) -> Table:
    """The versions and endpoints serving named before any registry did."""
    rows = [("version", v) for v in seen.versions] + [("endpoint", e) for e in seen.endpoints]

    def attrs(row: tuple[str, Any]) -> dict[str, str]:
        kind, found = row
        if kind == "version":
            return {"data-version": f"{found.model.name}@{found.version}"}
        return {"data-endpoint": found.name}

    return Table(
        name="seen_in_serving",
        html_id="seen-in-serving",
        rows=rows,
        empty="None: every version and endpoint that served is known to a registry.",
        row_attrs=attrs,
        columns=[
            Column(key="kind", label="Kind", value=lambda row: row[0]),
            Column(
                key="name",
                label="Name",
                value=lambda row: (
                    f"{row[1].model.name} v{row[1].version}" if row[0] == "version" else row[1].name
                ),
                display=lambda row: name_with_badge(
                    f"{row[1].model.name} v{row[1].version}"
                    if row[0] == "version"
                    else row[1].name,
                    True,
                ),
                link=lambda row: (
                    version_url(row[1].model.name, row[1].version, query)
                    if row[0] == "version"
                    else None
                ),
            ),
            Column(
                key="team",
                label="Team",
                value=lambda row: (
                    row[1].model.team.name
                    if row[0] == "version"
                    else (row[1].team.name if row[1].team else "shared")
                ),
            ),
            Column.time("first_served", "First served", lambda row: row[1].seen_in_serving_at),
        ],
    )


def timeline_table(model: RegisteredModel, entries: Sequence[TimelineEntry], query: Query) -> Table:
    return Table(
        name="timeline",
        html_id="timeline",
        rows=entries,
        empty="Nothing happened to this model in the window.",
        row_attrs=lambda e: {"data-kind": e.kind},
        columns=[
            Column.time("before", "When (at the latest)", lambda e: e.before, seconds=True),
            Column(key="after", label="At the earliest", value=lambda e: e.after, on_page=False),
            Column(
                key="uncertainty",
                label="Uncertainty",
                value=lambda e: e.uncertainty,
                unit_label="s",
                numeric=False,
                display=lambda e: (
                    "exact"
                    if e.exact
                    else f"up to {duration_words(e.uncertainty)} earlier "
                    f"(after {moment_format(e.after, seconds=True)})"
                ),
            ),
            Column(key="kind", label="Kind", value=lambda e: e.kind, on_page=False),
            Column(key="label", label="What", value=lambda e: e.label),
            Column(
                key="version",
                label="Version",
                value=lambda e: e.version,
                link=lambda e: version_url(model.name, e.version, query) if e.version else None,
            ),
            Column(key="detail", label="Detail", value=lambda e: e.detail),
            Column(key="source", label="Source", value=lambda e: e.source),
        ],
    )


def _error_text(registry: Registry, *, is_admin: bool) -> str:
    if not registry.last_error_at:
        return "none"
    when = moment_format(registry.last_error_at)
    if is_admin and registry.last_error:
        text = registry.last_error
        return f"{when}: {text if len(text) <= 120 else text[:119] + '…'}"
    return when


def registries_table(registries: Sequence[Registry], *, is_admin: bool) -> Table:
    """The registries; their URLs and error messages only for admins, on the page and in
    the export alike."""
    return Table(
        name="registries",
        html_id="registries",
        rows=registries,
        empty="No registry is configured.",
        row_attrs=lambda r: {
            "data-registry": r.name,
            "class": "failing" if r.consecutive_failures else "",
        },
        columns=[
            column
            for column in _registry_columns(is_admin=is_admin)
            if is_admin or column.key not in _ADMIN_ONLY
        ],
    )


# What a registry's settings and errors may reveal (hosts, credentials in a message).
_ADMIN_ONLY = ("base_url", "last_error")


def _registry_columns(*, is_admin: bool) -> list[Column]:
    return [
        Column(
            key="name",
            label="Name",
            value=lambda r: r.name,
            display=lambda r: format_html(
                '<a href="{}">{}</a>{}',
                reverse("deployment:registry", args=[r.name]),
                r.name,
                "" if r.enabled else " (disabled)",
            ),
        ),
        Column(key="enabled", label="Enabled", value=lambda r: r.enabled, on_page=False),
        Column(
            key="kind",
            label="Kind",
            value=lambda r: r.kind,
            display=lambda r: r.get_kind_display(),
        ),
        Column(key="base_url", label="URL", value=lambda r: r.base_url),
        Column(
            key="poll_interval_minutes",
            label="Every",
            value=lambda r: r.poll_interval_minutes,
            unit_label="minutes",
            numeric=False,
            display=lambda r: f"{r.poll_interval_minutes} min",
        ),
        Column.time(
            "last_success_at", "Last success", lambda r: r.last_success_at, missing="never"
        ),
        Column(
            key="last_error_at",
            label="Last error",
            value=lambda r: r.last_error_at,
            display=lambda r: _error_text(r, is_admin=is_admin),
        ),
        Column(key="last_error", label="Error", value=lambda r: r.last_error, on_page=False),
        Column(
            key="consecutive_failures",
            label="Failures in a row",
            value=lambda r: r.consecutive_failures,
            unit="count",
        ),
        Column(
            key="next_poll_at",
            label="Next poll",
            cell_attrs={"data-field": "next_poll"},
            value=lambda r: r.next_poll_at if r.enabled else None,
            display=lambda r: (
                moment_format(r.next_poll_at, missing="due")
                if r.enabled
                else "disabled (not polled)"
            ),
        ),
    ]


def recent_changes_table(changes: Sequence[LifecycleChange], query: Query) -> Table:
    def version_name(c: LifecycleChange) -> str:
        return c.model_version.version if c.model_version else ""

    return Table(
        name="recent_changes",
        html_id="recent-changes",
        rows=changes,
        empty="Nothing recorded yet.",
        columns=[
            Column.time("recorded_at", "Recorded", lambda c: c.recorded_at, seconds=True),
            Column(
                key="kind",
                label="What",
                value=lambda c: c.kind,
                display=lambda c: c.get_kind_display(),
            ),
            model_column(lambda c: c.model.name, query),
            Column(
                key="version",
                label="Version",
                value=version_name,
                link=lambda c: (
                    version_url(c.model.name, version_name(c), query) if c.model_version else None
                ),
            ),
            Column(key="key", label="Key", value=lambda c: c.key),
            Column(
                key="happened_after",
                label="Happened between",
                export_label="Happened after",
                value=lambda c: c.happened_after,
                display=lambda c: (
                    f"{moment_format(c.happened_after, seconds=True)} \u2013 "
                    f"{moment_format(c.happened_before, seconds=True)}"
                ),
            ),
            Column(
                key="happened_before",
                label="Happened before",
                value=lambda c: c.happened_before,
                on_page=False,
            ),
        ],
    )
