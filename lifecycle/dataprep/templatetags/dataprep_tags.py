"""How profile numbers read on a page: unknown (None) says "unknown", never 0."""

from __future__ import annotations

from django import template

from lifecycle.catalog.kpis import KpiValue, Unit
from lifecycle.catalog.tables import number_text
from lifecycle.catalog.templatetags.kpi_tags import in_unit

register = template.Library()


@register.filter
def profile_kpi(kpi: KpiValue) -> str:
    return in_unit(kpi.value, kpi.definition.unit)


@register.filter
def pct(value: float | None) -> str:
    return in_unit(value, Unit.PERCENT)


@register.filter
def share(value: float | None) -> str:
    return in_unit(value, Unit.FRACTION)


@register.filter
def num(value: float | None) -> str:
    return number_text(value)


@register.filter
def shares_text(shares: dict[str, float] | None) -> str:
    if not shares:
        return "unknown"
    return ", ".join(f"{k.replace('_', ' ')} {v:.1f}%" for k, v in shares.items())
