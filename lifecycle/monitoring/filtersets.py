from __future__ import annotations

import django_filters

from lifecycle.catalog.filtersets import LifecycleFilterSet
from lifecycle.catalog.models import FailureClass
from lifecycle.monitoring.models import Incident


class IncidentFilterSet(LifecycleFilterSet):
    model_path = "model"
    time_field = "started_at"
    failure_class = django_filters.ChoiceFilter(choices=FailureClass.choices)

    class Meta(LifecycleFilterSet.Meta):
        model = Incident
        fields = ["model", "industry", "serving_mode", "team", "failure_class"]
