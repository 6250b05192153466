"""The shared filter dimensions, and the catalog's own FilterSets.

`LifecycleFilterSet` carries model, industry, serving mode, team and time window. Every
phase's FilterSet inherits it and says where its rows reach the model (`model_path`) and
which column is their time (`time_field`); the same class filters the API and the page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from lifecycle.catalog.models import (
    Deployment,
    DeploymentRole,
    Endpoint,
    Industry,
    ModelVersion,
    RegisteredModel,
    ServingEvent,
    ServingMode,
    Team,
)
from lifecycle.catalog.times import time_parse
from lifecycle.catalog.windows import WINDOW_LABELS, TimeRange, time_range_resolve


class AcceptedTimeField(forms.CharField):
    """An ISO 8601 time (UTC when it has no zone) within the accepted range: a query for
    year 1 or 9999 would overflow the window's arithmetic or the database adapter."""

    def to_python(self, value: object) -> object:
        text = super().to_python(value)
        if not text:
            return None
        moment = time_parse(text, assume_utc=True)
        if isinstance(moment, str):
            # The value goes in as a parameter: django-filter %-formats every message, so
            # a "%" the client sent must not be part of the format.
            raise forms.ValidationError(
                "%(text)s: %(reason)s.",
                code="invalid",
                params={"text": repr(text), "reason": moment},
            )
        return moment


class AcceptedTimeFilter(django_filters.Filter):
    field_class = AcceptedTimeField


class LifecycleFilterForm(forms.Form):
    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start >= end:
            self.add_error("end", "end must be after start.")
        if (start or end) and data.get("window"):
            self.add_error("window", "give either window or start/end, not both.")
        return data


class LifecycleFilterSet(django_filters.FilterSet):
    model = django_filters.ModelChoiceFilter(
        queryset=RegisteredModel.objects.all(),
        to_field_name="name",
        method="filter_model",
        label="Model",
        empty_label="All models",
    )
    industry = django_filters.ModelChoiceFilter(
        queryset=Industry.objects.all(),
        to_field_name="name",
        method="filter_industry",
        label="Industry",
        empty_label="All industries",
    )
    serving_mode = django_filters.ChoiceFilter(
        choices=ServingMode.choices,
        method="filter_serving_mode",
        label="Serving mode",
        empty_label="Batch and streaming",
    )
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.all(),
        to_field_name="name",
        method="filter_team",
        label="Team",
        empty_label="All teams",
    )
    window = django_filters.ChoiceFilter(
        choices=list(WINDOW_LABELS.items()),
        method="filter_time",
        label="Window",
        empty_label=None,
    )
    start = AcceptedTimeFilter(method="filter_time", label="From (UTC)")
    end = AcceptedTimeFilter(method="filter_time", label="To (UTC)")

    # Path from the filtered rows to RegisteredModel ("" when they are models).
    model_path: ClassVar[str] = "model"
    # The rows' time column, or None when the window does not narrow them.
    time_field: ClassVar[str | None] = None

    class Meta:
        form = LifecycleFilterForm
        fields: ClassVar[list[str]] = []

    def __init__(self, *args: Any, now: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The moment the window ends at, fixed once: a KPI request passes its own `now`
        # so that every filter set of one request (and its previous period) agrees. DRF's
        # filter backend passes none; then the request's moment is taken here, once.
        self.now = now if now is not None else timezone.now()

    def _path(self, suffix: str) -> str:
        return f"{self.model_path}__{suffix}" if self.model_path else suffix

    def filter_model(self, queryset: QuerySet, name: str, value: RegisteredModel) -> QuerySet:
        return queryset.filter(**{self.model_path or "pk": value.pk})

    def filter_industry(self, queryset: QuerySet, name: str, value: Industry) -> QuerySet:
        return queryset.filter(**{self._path("industry"): value})

    def filter_serving_mode(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(**{self._path("serving_mode"): value})

    def filter_team(self, queryset: QuerySet, name: str, value: Team) -> QuerySet:
        return queryset.filter(**{self._path("team"): value})

    def filter_time(self, queryset: QuerySet, name: str, value: object) -> QuerySet:
        # window/start/end act together, applied once in filter_queryset.
        return queryset

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        if self.time_field:
            time_range = self.time_range
            queryset = queryset.filter(
                **{
                    f"{self.time_field}__gte": time_range.start,
                    f"{self.time_field}__lt": time_range.end,
                }
            )
        return queryset

    @property
    def time_range(self) -> TimeRange:
        data = self.form.cleaned_data if self.is_bound and self.is_valid() else {}
        return time_range_resolve(
            window=data.get("window") or None,
            start=data.get("start"),
            end=data.get("end"),
            now=self.now,
        )


class IndustryFilterSet(django_filters.FilterSet):
    class Meta:
        model = Industry
        fields = {"name": ["exact", "icontains"]}


class TeamFilterSet(django_filters.FilterSet):
    class Meta:
        model = Team
        fields = {"name": ["exact", "icontains"], "business_unit": ["exact"]}


class RegisteredModelFilterSet(LifecycleFilterSet):
    model_path = ""

    class Meta(LifecycleFilterSet.Meta):
        model = RegisteredModel
        fields = ["model", "industry", "serving_mode", "team"]


class ModelVersionFilterSet(LifecycleFilterSet):
    time_field = "registered_at"

    class Meta(LifecycleFilterSet.Meta):
        model = ModelVersion
        fields = ["model", "industry", "serving_mode", "team"]

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        # Versions are listed whatever their age unless a window is asked for explicitly.
        if not any(self.data.get(key) for key in ("window", "start", "end")):
            return django_filters.FilterSet.filter_queryset(self, queryset)
        return super().filter_queryset(queryset)


class EndpointFilterSet(django_filters.FilterSet):
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), to_field_name="name")

    class Meta:
        model = Endpoint
        fields = ["team"]


class DeploymentFilterSet(LifecycleFilterSet):
    model_path = "model_version__model"
    endpoint = django_filters.ModelChoiceFilter(
        queryset=Endpoint.objects.all(), to_field_name="name"
    )
    role = django_filters.ChoiceFilter(choices=DeploymentRole.choices)
    active = django_filters.BooleanFilter(method="filter_active", label="Active now")

    class Meta(LifecycleFilterSet.Meta):
        model = Deployment
        fields = ["model", "industry", "serving_mode", "team", "endpoint", "role", "active"]

    def filter_active(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        active = queryset.active_between(self.now, self.now)
        return active if value else queryset.exclude(pk__in=active.values("pk"))


class ServingEventFilterSet(LifecycleFilterSet):
    model_path = "model"
    time_field = "timestamp"
    version = django_filters.CharFilter(field_name="model_version__version", label="Version")
    endpoint = django_filters.ModelChoiceFilter(
        queryset=Endpoint.objects.all(), to_field_name="name", label="Endpoint"
    )

    class Meta(LifecycleFilterSet.Meta):
        model = ServingEvent
        fields = ["model", "industry", "serving_mode", "team", "version", "endpoint"]
