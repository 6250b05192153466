from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from lifecycle.catalog.filtersets import LifecycleFilterSet
from lifecycle.catalog.models import LifecycleMetric, LifecyclePhase
from lifecycle.development.models import TrainingRun


class TrainingRunFilterSet(LifecycleFilterSet):
    """Training runs; the window narrows by start time only when one is asked for (runs
    are compared across versions whatever their age)."""

    model_path = "model_version__model"
    version = django_filters.CharFilter(field_name="model_version__version", label="Version")

    class Meta(LifecycleFilterSet.Meta):
        model = TrainingRun
        fields = ["model", "industry", "serving_mode", "team", "version"]


class TrainingMetricFilterSet(LifecycleFilterSet):
    """Development-phase metrics (accuracy, AUC, MAE ...) pushed or synced per run."""

    model_path = "model"
    version = django_filters.CharFilter(field_name="model_version__version", label="Version")

    class Meta(LifecycleFilterSet.Meta):
        model = LifecycleMetric
        fields = ["model", "industry", "serving_mode", "team", "version"]

    time_field = "timestamp"

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return super().filter_queryset(queryset.filter(phase=LifecyclePhase.DEVELOPMENT))

    def filter_queryset_without_window(self) -> QuerySet:
        """The other filters only: runs compare across versions whatever their age."""
        queryset = self.queryset.filter(phase=LifecyclePhase.DEVELOPMENT)
        return (
            django_filters.FilterSet.filter_queryset(self, queryset)
            if self.is_valid()
            else (queryset.none())
        )
