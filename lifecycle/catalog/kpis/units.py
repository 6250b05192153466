"""The closed vocabulary of KPI units, and the one formatter every page, tile, table and
chart hover uses (`moment_format` for times). The API answers the raw number and the
unit's value."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from enum import StrEnum


class Unit(StrEnum):
    # The values are what the API's `unit` field answers: clients read them.
    COUNT = "count"
    FRACTION = "fraction"  # 0..1, shown as a percentage
    PERCENT = "percent"  # already 0..100
    POINTS = "points"  # a difference of two percentages
    MILLISECONDS = "ms"
    HOURS = "hours"
    DAYS = "days"
    USD = "USD"
    PER_MINUTE = "1/min"
    PER_HOUR = "1/h"
    PER_DAY = "1/d"
    PER_WEEK = "1/week"
    INDEX = "index"  # a dimensionless score (PSI)
    P_VALUE = "p"


# How each unit reads: decimals after the point, text before and after the number, and
# whether the value is scaled by 100 first.
_FORMATS: dict[Unit, tuple[int, str, str, bool]] = {
    Unit.COUNT: (0, "", "", False),
    Unit.FRACTION: (2, "", "%", True),
    Unit.PERCENT: (2, "", "%", False),
    Unit.POINTS: (2, "", " pts", False),
    Unit.MILLISECONDS: (1, "", " ms", False),
    Unit.HOURS: (2, "", " h", False),
    Unit.DAYS: (2, "", " d", False),
    Unit.USD: (2, "$", "", False),
    Unit.PER_MINUTE: (2, "", " /min", False),
    Unit.PER_HOUR: (2, "", " /h", False),
    Unit.PER_DAY: (2, "", " /d", False),
    Unit.PER_WEEK: (2, "", " /week", False),
    Unit.INDEX: (3, "", "", False),
    Unit.P_VALUE: (4, "", "", False),
}

MISSING = "n/a"


def kpi_format(value: float | int | None, unit: Unit | str, *, missing: str = MISSING) -> str:
    """`value` as a page shows it: thousands separators, a % for fractions and
    percentages, the unit after the number; `missing` when there is no value."""
    if value is None:
        return missing
    decimals, prefix, suffix, scaled = _FORMATS[Unit(unit)]
    number = float(value) * 100 if scaled else float(value)
    sign = "-" if number < 0 else ""
    if unit == Unit.USD and 0 < abs(number) < 0.01:
        # A unit cost of $0.00025 is not "$0.00": two significant digits, up to 8 places.
        decimals = min(8, 1 - math.floor(math.log10(abs(number))))
    return f"{sign}{prefix}{abs(number):,.{decimals}f}{suffix}"


def unit_d3_format(unit: Unit | str) -> str:
    """The d3-format spec of `unit` (plotly's hovers and ticks), reading as `kpi_format`
    does apart from the suffix, which `unit_hover` adds."""
    decimals, prefix, _, scaled = _FORMATS[Unit(unit)]
    if scaled:
        return f",.{decimals}%"
    return f"{'$' if prefix else ''},.{decimals}f"


def unit_suffix(unit: Unit | str) -> str:
    return _FORMATS[Unit(unit)][2] if not _FORMATS[Unit(unit)][3] else ""


def unit_hover(unit: Unit | str, *, axis: str = "y") -> str:
    """A plotly hover placeholder for one value in `unit`, e.g. `%{y:,.1f} ms`."""
    return f"%{{{axis}:{unit_d3_format(unit)}}}{unit_suffix(unit)}"


def moment_format(
    value: datetime | str | None, *, seconds: bool = False, missing: str = MISSING
) -> str:
    """A time as every page, table and chart hover shows it: to the minute (or second),
    in UTC, saying so ("2026-11-10 05:01 UTC"); an ISO 8601 string (a profile's) is read
    first, anything unreadable is shown as it is, and no time as `missing`."""
    if value in (None, ""):
        return missing
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M{':%S' if seconds else ''}} UTC"
