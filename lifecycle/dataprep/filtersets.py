from __future__ import annotations

from django.db.models import QuerySet

from lifecycle.catalog.filtersets import LifecycleFilterSet
from lifecycle.catalog.models import Dataset, Team


class DatasetFilterSet(LifecycleFilterSet):
    """Datasets; model, industry and serving mode select the datasets that some version
    of a matching model was trained on, team selects the dataset's own team."""

    model_path = "versions__model_versions__model"

    class Meta(LifecycleFilterSet.Meta):
        model = Dataset
        fields = ["model", "industry", "serving_mode", "team"]

    def filter_team(self, queryset: QuerySet, name: str, value: Team) -> QuerySet:
        return queryset.filter(team=value)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return super().filter_queryset(queryset).distinct()
