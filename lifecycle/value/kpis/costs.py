"""Serving cost per model, read from the serving rollups through the catalog's read
model."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from lifecycle.catalog.models import RegisteredModel
from lifecycle.catalog.serving.scope import ServingScope
from lifecycle.catalog.serving.sums import serving_totals


@dataclass(frozen=True)
class ModelCost:
    model: str
    calls: int
    cost_usd: Decimal


def model_costs_sum(*, scope: ServingScope) -> list[ModelCost]:
    """Inferences and serving cost per model, the costliest first."""
    totals = serving_totals(scope, group_by=["model"], sums=("inferences", "cost_usd"))
    names = dict(
        RegisteredModel.objects.filter(pk__in=[k for (k,) in totals]).values_list("pk", "name")
    )
    rows = [ModelCost(names[k], n, cost) for (k,), (n, cost) in totals.items()]
    return sorted(rows, key=lambda row: (-row.cost_usd, row.model))
