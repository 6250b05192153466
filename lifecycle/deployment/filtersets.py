"""FilterSets of the deployment phase; each filters the API and the page alike."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from lifecycle.catalog.filtersets import DeploymentFilterSet, LifecycleFilterSet
from lifecycle.catalog.models import ModelVersion
from lifecycle.deployment.models import ChangeKind, ChangeSource, LifecycleChange, Registry


class DeploymentWindowFilterSet(DeploymentFilterSet):
    """Deployments narrowed by the shared dimensions; the window keeps those that served
    at any moment of it (not only those that started in it)."""

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        time_range = self.time_range
        return queryset.active_between(time_range.start, time_range.end)


class VersionMilestoneFilterSet(LifecycleFilterSet):
    """Versions narrowed by model, industry, serving mode and team. The window is applied
    by each KPI to its own milestone (reaching production, being promoted ...)."""

    model_path = "model"
    version = django_filters.CharFilter(field_name="version", label="Version")

    class Meta(LifecycleFilterSet.Meta):
        model = ModelVersion
        fields = ["model", "industry", "serving_mode", "team", "version"]


class LifecycleChangeFilterSet(LifecycleFilterSet):
    """Ledger entries whose interval ends in the window."""

    model_path = "model"
    time_field = "happened_before"
    version = django_filters.CharFilter(field_name="model_version__version", label="Version")
    kind = django_filters.MultipleChoiceFilter(choices=ChangeKind.choices)
    source = django_filters.ChoiceFilter(choices=ChangeSource.choices)
    registry = django_filters.ModelChoiceFilter(
        queryset=Registry.objects.all(), to_field_name="name"
    )

    class Meta(LifecycleFilterSet.Meta):
        model = LifecycleChange
        fields = [
            "model",
            "industry",
            "serving_mode",
            "team",
            "version",
            "kind",
            "source",
            "registry",
        ]
