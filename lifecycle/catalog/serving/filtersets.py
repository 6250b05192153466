"""The serving filter dimensions on the rollup tables, shared by every phase that reads
serving numbers."""

from __future__ import annotations

import django_filters

from lifecycle.catalog.filtersets import LifecycleFilterSet
from lifecycle.catalog.models import Endpoint, ServingRollup


class ServingRollupFilterSet(LifecycleFilterSet):
    """The serving filters (model, industry, serving mode, team, version, endpoint) on the
    rollup tables. The window is not applied here: the read model reads each part of it
    at the coarsest granularity that fits (see `lifecycle.catalog.serving.scope`)."""

    model_path = "model"
    time_field = None
    version = django_filters.CharFilter(field_name="model_version__version", label="Version")
    endpoint = django_filters.ModelChoiceFilter(
        queryset=Endpoint.objects.all(), to_field_name="name", label="Endpoint"
    )

    class Meta(LifecycleFilterSet.Meta):
        model = ServingRollup
        fields = ["model", "industry", "serving_mode", "team", "version", "endpoint"]
