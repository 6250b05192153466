from __future__ import annotations

import django_filters

from lifecycle.catalog.filtersets import LifecycleFilterSet
from lifecycle.catalog.models import Endpoint, FailureClass, ServingRollup
from lifecycle.monitoring.models import Incident


class IncidentFilterSet(LifecycleFilterSet):
    model_path = "model"
    time_field = "started_at"
    failure_class = django_filters.ChoiceFilter(choices=FailureClass.choices)

    class Meta(LifecycleFilterSet.Meta):
        model = Incident
        fields = ["model", "industry", "serving_mode", "team", "failure_class"]


class ServingRollupFilterSet(LifecycleFilterSet):
    """The serving filters (model, industry, serving mode, team, version, endpoint) on the
    rollup tables. The window is not applied here: the KPI code reads each part of it at
    the coarsest granularity that fits (see `lifecycle.monitoring.kpis`)."""

    model_path = "model"
    time_field = None
    version = django_filters.CharFilter(field_name="model_version__version", label="Version")
    endpoint = django_filters.ModelChoiceFilter(
        queryset=Endpoint.objects.all(), to_field_name="name", label="Endpoint"
    )

    class Meta(LifecycleFilterSet.Meta):
        model = ServingRollup
        fields = ["model", "industry", "serving_mode", "team", "version", "endpoint"]
