from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django import template
from django.http import HttpRequest
from django.utils.safestring import SafeString, mark_safe

from lifecycle.catalog.kpis import KPI_DEFINITIONS, KpiValue, Unit
from lifecycle.catalog.kpis import kpi_format as kpi_format_value
from lifecycle.catalog.kpis.units import MISSING, moment_format

register = template.Library()


def kpi_value_format(value: float | int | None, unit: Unit | str) -> str:
    """How a KPI value reads on a page; the API returns the raw number."""
    return kpi_format_value(value, unit)


@register.filter
def in_unit(value: float | int | None, unit: str) -> str:
    """A table cell's number as a tile shows it: `{{ row.calls|in_unit:"count" }}`."""
    return kpi_format_value(value, unit, missing="unknown")


@register.filter
def moment(value: datetime | str | None, missing: str = "unknown") -> str:
    """A time to the minute, in UTC, saying so (`moment_format`)."""
    return moment_format(value, missing=missing)


@register.filter
def moment_seconds(value: datetime | str | None, missing: str = "unknown") -> str:
    """`moment` to the second, where seconds tell (a ledger's poll intervals)."""
    return moment_format(value, seconds=True, missing=missing)


@register.filter
def in_the_future(value: float | None) -> bool:
    """An age below zero: the data say they come from the future, a clock or time-zone
    problem worth flagging rather than showing as a plain number."""
    return value is not None and value < 0


@register.filter
def kpi_format(kpi: KpiValue, missing: str = "") -> str:
    """The value through the one formatter; `missing` (default n/a) when there is none."""
    return kpi_format_value(kpi.value, kpi.definition.unit, missing=missing or MISSING)


@register.filter
def kpi_list(kpis: KpiValue | Iterable[KpiValue] | None) -> list[KpiValue]:
    """One KPI value or several, as a list for the tiles include."""
    if kpis is None or kpis == "":
        return []
    return [kpis] if isinstance(kpis, KpiValue) else list(kpis)


@register.filter
def kpi_bounds(kpi: KpiValue) -> str:
    """'between a and b' for a KPI known only within bounds (e.g. from registry polls
    that see a change only between two polls); empty when the value is exact."""
    low, high = getattr(kpi, "low", None), getattr(kpi, "high", None)
    if low is None or high is None or abs(high - low) < 1e-9:
        return ""
    unit = kpi.definition.unit
    return f"between {kpi_value_format(low, unit)} and {kpi_value_format(high, unit)}"


@register.filter
def kpi_previous(kpi: KpiValue, period: str = "") -> str:
    """'vs 1.20% the 7 days before' when the previous period was computed, else empty."""
    previous = getattr(kpi, "previous", None)
    if previous is None:
        return ""
    before = kpi_value_format(previous.value, kpi.definition.unit)
    return f"vs {before} {period or 'the period before'}"


@register.simple_tag(takes_context=True)
def kpi_tile_value(context: template.Context, kpi: KpiValue) -> str:
    """A tile's value; the include's optional `missing` names a missing one."""
    return kpi_format(kpi, context.get("missing") or "")


@register.simple_tag(takes_context=True)
def kpi_tile_previous(context: template.Context, kpi: KpiValue) -> str:
    """A tile's previous-period note, in the include's optional `previous_label` words."""
    return kpi_previous(kpi, context.get("previous_label") or "")


@register.simple_tag
def kpi_tooltip(kpi_id: str) -> str:
    return KPI_DEFINITIONS[kpi_id].tooltip


@register.simple_tag
def kpi_label(kpi_id: str) -> str:
    return KPI_DEFINITIONS[kpi_id].label


@register.simple_tag
def query_with(request: HttpRequest, **changes: object) -> str:
    """The current query string with some parameters replaced (None removes one)."""
    query = request.GET.copy()
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = str(value)
    return "?" + query.urlencode() if query else "?"


# What a link to another page keeps of this one's query: the time it looks at; a link
# in the navigation keeps the portfolio's filters too. A version, an endpoint or a sort
# means something on its own page only.
TIME_QUERY_KEYS = ("window", "start", "end", "compare")
NAVIGATION_QUERY_KEYS = (*TIME_QUERY_KEYS, "model", "industry", "serving_mode", "team")


def _query_keeping(request: HttpRequest, keys: tuple[str, ...], extra: dict) -> str:
    query = request.GET.copy()
    for key in list(query):
        if key not in keys:
            query.pop(key)
    for key, value in extra.items():
        query[key] = str(value)
    return "?" + query.urlencode() if query else ""


@register.simple_tag
def time_query(request: HttpRequest, **extra: object) -> str:
    """`?window=30d` (and `extra`) for a link to another page: the same time range,
    not the filters that chose this page's subject; empty when there is nothing."""
    return _query_keeping(request, TIME_QUERY_KEYS, extra)


@register.simple_tag
def navigation_query(request: HttpRequest) -> str:
    """The query a phase link in the navigation carries: time and portfolio filters."""
    return _query_keeping(request, NAVIGATION_QUERY_KEYS, {})


@register.simple_tag
def sort_query(request: HttpRequest, key: str, current: str) -> str:
    """Link for a column header: sorts by `key`, flipping direction on a second click."""
    new = f"-{key}" if current != f"-{key}" else key
    return query_with(request, sort=new)


@register.filter
def get_item(mapping: dict, key: str) -> object:
    return mapping.get(key)


_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.filter
def json_embed(json_text: str) -> SafeString:
    """A JSON string made safe inside <script type="application/json">, as json_script does
    for Python values (a model name cannot close the script element)."""
    return mark_safe(json_text.translate(_JSON_SCRIPT_ESCAPES))
