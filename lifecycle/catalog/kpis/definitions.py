"""One definition per KPI: the API, the panels and their tooltips all read it from here.

Phases declare their KPIs with `kpi_define` in their own `kpis` module; the catalog only
holds the registry and the value type, so it imports no phase.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from lifecycle.catalog.kpis.units import Unit
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
