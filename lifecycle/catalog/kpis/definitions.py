"""One definition per KPI: the API, the panels and their tooltips all read it from here.

Phases declare their KPIs with `kpi_define` in their own `kpis` module; the catalog only
holds the registry and the value type, so it imports no phase.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from lifecycle.catalog.kpis.units import Unit, kpi_format
from lifecycle.catalog.windows import TimeRange


class Direction(StrEnum):
    """Which way a KPI's change is good: a tile's change is coloured by it."""

    HIGHER_IS_BETTER = "higher"
    LOWER_IS_BETTER = "lower"
    NEUTRAL = "neutral"


@dataclass(frozen=True)
class KpiDefinition:
    id: str
    phase: str
    label: str
    unit: Unit
    direction: Direction
    formula: str
    # False for a KPI that describes a state as of now (a dataset's newest version) or
    # one object (a training run), not a period: it has no previous period to compare.
    compares: bool = True

    @property
    def tooltip(self) -> str:
        return f"{self.label} ({self.unit.value}): {self.formula}"


@dataclass(frozen=True)
class TargetMiss:
    """A target a KPI's value missed (an SLA's p95 latency, say): the value, the target
    and, where the KPI spans several models, whose it was."""

    definition: KpiDefinition
    actual: float
    target: float
    model: str | None = None

    @property
    def comparison(self) -> str:
        """E.g. "Latency p95 412.0 ms > 300.0 ms" (a table's column says what of)."""
        d = self.definition
        worse = "<" if d.direction == Direction.HIGHER_IS_BETTER else ">"
        actual, target = kpi_format(self.actual, d.unit), kpi_format(self.target, d.unit)
        return f"{d.label} {actual} {worse} {target}"

    @property
    def text(self) -> str:
        """E.g. "Latency p95 412.0 ms > 300.0 ms target", after the model's name where
        the KPI spans several."""
        whose = f"{self.model}: " if self.model else ""
        return f"{whose}{self.comparison} target"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kpi": self.definition.id,
            "actual": self.actual,
            "target": self.target,
            "unit": self.definition.unit.value,
            "model": self.model,
            "text": self.text,
        }


@dataclass(frozen=True)
class KpiValue:
    definition: KpiDefinition
    value: float | int | None
    # The same KPI over the period of the same length just before; set only when asked
    # for (`kpi_values(..., with_previous=True)`), as it costs a second computation.
    previous: KpiValue | None = field(default=None, kw_only=True)
    # The period the value covers, where it was kept (a previous period's value).
    period: TimeRange | None = field(default=None, kw_only=True, compare=False)
    # The value's parts where a KPI counts several kinds (errors per failure class).
    parts: dict[str, float | int] | None = field(default=None, kw_only=True)
    # The targets the value's inputs missed, where the KPI checks targets (SLA compliance).
    misses: tuple[TargetMiss, ...] | None = field(default=None, kw_only=True)

    def as_dict(self) -> dict[str, Any]:
        d = self.definition
        answer = {
            "id": d.id,
            "label": d.label,
            "value": self.value,
            "unit": d.unit.value,
            "phase": d.phase,
            "direction": d.direction.value,
            "compares": d.compares,
            "definition": d.formula,
        }
        if self.previous is not None:
            answer["previous"] = self.previous.value
        if self.parts is not None:
            answer["parts"] = dict(self.parts)
        if self.misses is not None:
            answer["misses"] = [miss.as_dict() for miss in self.misses]
        return answer


KPI_DEFINITIONS: dict[str, KpiDefinition] = {}


def kpi_define(
    *,
    id: str,
    phase: str,
    label: str,
    unit: Unit,
    direction: Direction,
    formula: str,
    compares: bool = True,
) -> KpiDefinition:
    if id in KPI_DEFINITIONS:
        raise ValueError(f"KPI {id!r} is defined twice")
    definition = KpiDefinition(
        id, phase, label, Unit(unit), Direction(direction), formula, compares
    )
    KPI_DEFINITIONS[id] = definition
    return definition
