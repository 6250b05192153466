"""A KPI's change against its previous period, as a tile says it: the arrow, the amount
in the unit's format, whether that is better or worse by the KPI's direction, and the
exact previous value and period for the tooltip."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lifecycle.catalog.kpis.definitions import Direction, KpiValue
from lifecycle.catalog.kpis.request import period_words
from lifecycle.catalog.kpis.units import Unit, kpi_format, moment_format

# Shares change by percentage points (error rate 1.0% -> 1.5% is +0.50 pts, not +50%),
# scores and p-values by their own difference; every other unit by its relative change.
_DIFFERENCE_UNITS: dict[Unit, tuple[Unit, float]] = {
    Unit.FRACTION: (Unit.POINTS, 100.0),
    Unit.PERCENT: (Unit.POINTS, 1.0),
    Unit.POINTS: (Unit.POINTS, 1.0),
    Unit.INDEX: (Unit.INDEX, 1.0),
    Unit.P_VALUE: (Unit.P_VALUE, 1.0),
}
UP, DOWN, SAME = "▲", "▼", "="


class Verdict(StrEnum):
    """How a change reads by the KPI's direction; a tile's colour (class `change-<v>`)."""

    BETTER = "better"
    WORSE = "worse"
    NEUTRAL = "neutral"  # the KPI has no good direction
    UNCHANGED = "unchanged"
    UNKNOWN = "unknown"  # one side has no value


_VERDICT_WORDS = {
    Verdict.BETTER: "better",
    Verdict.WORSE: "worse",
    Verdict.NEUTRAL: "neither better nor worse",
    Verdict.UNCHANGED: "unchanged",
    Verdict.UNKNOWN: "no comparison",
}


@dataclass(frozen=True)
class KpiChange:
    arrow: str  # UP, DOWN, SAME or "" (nothing to compare)
    text: str  # "12.30% vs the 7 days before", after the arrow
    verdict: Verdict
    title: str  # the exact previous value and period

    @property
    def verdict_words(self) -> str:
        """The verdict in words, so that it is not told by colour alone."""
        return _VERDICT_WORDS[self.verdict]


def _verdict(direction: Direction, rising: bool) -> Verdict:
    if direction is Direction.NEUTRAL:
        return Verdict.NEUTRAL
    return Verdict.BETTER if rising == (direction is Direction.HIGHER_IS_BETTER) else Verdict.WORSE


def kpi_change(kpi: KpiValue, *, period: str = "") -> KpiChange | None:
    """The change of `kpi` against `kpi.previous`; None when no previous period was
    computed for it. `period` names that period ("the 7 days before") when the previous
    value does not know its own."""
    previous = kpi.previous
    if previous is None:
        return None
    d = kpi.definition
    span = previous.period
    before = f"the {period_words(span.duration)} before" if span else period or "the period before"
    when = before[0].upper() + before[1:]
    if span:
        when += f" ({moment_format(span.start)} to {moment_format(span.end)})"
    title = f"{when}: {kpi_format(previous.value, d.unit)}"
    now, then = kpi.value, previous.value
    if then is None:
        return KpiChange("", "n/a before", Verdict.UNKNOWN, title)
    if now is None:
        return KpiChange("", f"was {kpi_format(then, d.unit)} {before}", Verdict.UNKNOWN, title)
    delta = float(now) - float(then)
    if d.unit in _DIFFERENCE_UNITS:
        shown_unit, scale = _DIFFERENCE_UNITS[d.unit]
        amount = kpi_format(abs(delta) * scale, shown_unit)
        zero = kpi_format(0, shown_unit)
    elif then == 0:
        if now == 0:
            return KpiChange(SAME, f"unchanged vs {before}", Verdict.UNCHANGED, title)
        return KpiChange(
            UP if delta > 0 else DOWN,
            f"new: {kpi_format(then, d.unit)} {before}",
            _verdict(d.direction, delta > 0),
            title,
        )
    else:
        amount = kpi_format(abs(delta / float(then)), Unit.FRACTION)
        zero = kpi_format(0, Unit.FRACTION)
    # Unchanged as far as the tile can show: a change that reads 0.00% is no change.
    if amount == zero:
        return KpiChange(SAME, f"unchanged vs {before}", Verdict.UNCHANGED, title)
    return KpiChange(
        UP if delta > 0 else DOWN, f"{amount} vs {before}", _verdict(d.direction, delta > 0), title
    )
