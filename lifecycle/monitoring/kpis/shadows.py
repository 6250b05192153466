"""Shadow copies: the serving events a version in the shadow role answered, counted
apart from the requests (the read model's `shadow_copies` scope)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from lifecycle.catalog.kpis import KpiValue
from lifecycle.catalog.serving.scope import ServingScope
from lifecycle.catalog.serving.sums import serving_totals
from lifecycle.monitoring.kpis.definitions import SHADOW_COST_USD, SHADOW_INFERENCES


@dataclass(frozen=True)
class ShadowCopies:
    """Shadow copies and their cost per key (a model id or a version name)."""

    by_key: dict[object, tuple[int, Decimal]]

    def copies(self, key: object) -> int:
        return self.by_key.get(key, (0, Decimal(0)))[0]

    def kpis(self) -> list[KpiValue]:
        copies = sum(n for n, _ in self.by_key.values())
        cost = sum((c for _, c in self.by_key.values()), Decimal(0))
        return [KpiValue(SHADOW_INFERENCES, copies), KpiValue(SHADOW_COST_USD, float(cost))]


def shadow_copies_count(scope: ServingScope, *, group_by: str = "model") -> ShadowCopies:
    """The shadow copies of a scope of shadow copies (`shadow_copies=True`), per value of
    `group_by`."""
    if not scope.shadow_copies:
        raise ValueError("a scope of the requests holds no shadow copy")
    totals = serving_totals(scope, group_by=[group_by], sums=("inferences", "cost_usd"))
    return ShadowCopies({key: (int(n), cost) for (key,), (n, cost) in totals.items()})
