from __future__ import annotations

from django.db.models import QuerySet

from lifecycle.catalog.filtersets import DeploymentFilterSet


class DeploymentWindowFilterSet(DeploymentFilterSet):
    """Deployments narrowed by the shared dimensions; the window keeps those that served
    at any moment of it (not only those that started in it)."""

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        time_range = self.time_range
        return queryset.active_between(time_range.start, time_range.end)
