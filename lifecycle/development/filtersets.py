from __future__ import annotations

from collections.abc import Mapping

import django_filters
from django.db.models import DateTimeField, Min, OuterRef, QuerySet, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce

from lifecycle.catalog.filtersets import LifecycleFilterSet
from lifecycle.catalog.models import LifecycleMetric, LifecyclePhase
from lifecycle.development.models import TrainingRun

# What makes a window explicit: without one, runs compare across versions whatever their age.
TIME_KEYS = ("window", "start", "end")


def _window_asked(data: Mapping[str, object]) -> bool:
    return any(data.get(key) for key in TIME_KEYS)


class TrainingRunFilterSet(LifecycleFilterSet):
    """Training runs. Runs compare across versions whatever their age, so the window
    narrows them only when one is asked for (`window`, `start` or `end`); then a run is
    in it when its time is: its recorded start, or for a run pushed without one, its
    first development metric (the start its row shows). A run has no recorded end, and a
    run with neither time is outside every window."""

    model_path = "model_version__model"
    time_field = "run_time"
    version = django_filters.CharFilter(field_name="model_version__version", label="Version")

    class Meta(LifecycleFilterSet.Meta):
        model = TrainingRun
        fields = ["model", "industry", "serving_mode", "team", "version"]

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if not _window_asked(self.data):
            return django_filters.FilterSet.filter_queryset(self, queryset)
        first_metric = (
            LifecycleMetric.objects.filter(
                phase=LifecyclePhase.DEVELOPMENT, model_version_id=OuterRef("model_version_id")
            )
            .alias(run_key=KT("dimensions__run_id"))
            .filter(run_key=OuterRef("run_id"))
            .order_by()
            .values("model_version_id")
            .annotate(first=Min("timestamp"))
            .values("first")
        )
        queryset = queryset.alias(
            run_time=Coalesce("started_at", Subquery(first_metric, output_field=DateTimeField()))
        )
        return super().filter_queryset(queryset)


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

    def filter_queryset_as_asked(self) -> QuerySet:
        """Windowed when a window is asked for, else whatever their age (as the runs)."""
        return self.qs if _window_asked(self.data) else self.filter_queryset_without_window()
