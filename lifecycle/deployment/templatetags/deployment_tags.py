from __future__ import annotations

from datetime import timedelta

from django import template

from lifecycle.catalog.kpis import KpiValue
from lifecycle.catalog.templatetags.kpi_tags import kpi_value_format

register = template.Library()


@register.filter
def kpi_bounds(kpi: KpiValue) -> str:
    """'between a and b' for a KPI whose inputs are known only within poll intervals."""
    low, high = getattr(kpi, "low", None), getattr(kpi, "high", None)
    if low is None or high is None or abs(high - low) < 1e-9:
        return ""
    unit = kpi.definition.unit
    return f"between {kpi_value_format(low, unit)} and {kpi_value_format(high, unit)}"


@register.filter
def duration_words(value: timedelta | None) -> str:
    if value is None:
        return ""
    seconds = value.total_seconds()
    if seconds == 0:
        return "exact"
    if seconds < 120:
        return f"±{seconds:.0f} s"
    if seconds < 7200:
        return f"±{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"±{seconds / 3600:.1f} h"
    return f"±{seconds / 86400:.1f} d"


@register.filter
def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


@register.filter
def number(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"
