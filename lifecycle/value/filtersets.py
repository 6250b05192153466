"""The business-value filters: the shared lifecycle dimensions (model, industry, serving
mode, team, window) on the serving rollups, which is where every value number is read."""

from __future__ import annotations

from lifecycle.catalog.serving.filtersets import ServingRollupFilterSet


class ValueFilterSet(ServingRollupFilterSet):
    """The same dimensions as every serving read, so `/value/?team=x` and
    `/api/v1/kpis/value/?team=x` select what `/monitoring/?team=x` does."""

    class Meta(ServingRollupFilterSet.Meta):
        pass
