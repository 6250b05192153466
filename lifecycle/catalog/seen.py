"""Versions and endpoints seen in serving but not in the registry, for the pages that list
versions and endpoints by name (the flag itself: `seen_in_serving_at`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString

from lifecycle.catalog.filtersets import RegisteredModelFilterSet
from lifecycle.catalog.kpis.units import moment_format
from lifecycle.catalog.models import SEEN_IN_SERVING_HELP, Endpoint, ModelVersion, RegisteredModel
from lifecycle.catalog.tables import Column

_MODEL_FILTERS = ("model", "industry", "serving_mode", "team")


@dataclass(frozen=True)
class SeenInServing:
    versions: list[ModelVersion]
    endpoints: list[Endpoint]

    @property
    def version_keys(self) -> frozenset[tuple[str, str]]:
        """(model name, version name) of each flagged version."""
        return frozenset((v.model.name, v.version) for v in self.versions)

    @property
    def endpoint_names(self) -> frozenset[str]:
        return frozenset(e.name for e in self.endpoints)


def seen_in_serving_read(*, query: Mapping[str, Any]) -> SeenInServing:
    """What is flagged among the models the page's filters select (model, industry,
    serving mode, team; a window does not narrow it: a flag stands until a registry
    clears it), and the endpoints of those models' teams, oldest first."""
    versions = ModelVersion.objects.filter(seen_in_serving_at__isnull=False)
    endpoints = Endpoint.objects.filter(seen_in_serving_at__isnull=False)
    if any(query.get(key) for key in _MODEL_FILTERS):
        models = RegisteredModelFilterSet(
            {key: query[key] for key in _MODEL_FILTERS if query.get(key)},
            queryset=RegisteredModel.objects.all(),
        ).qs
        versions = versions.filter(model__in=models)
        endpoints = endpoints.filter(team__in=models.values("team"))
    return SeenInServing(
        versions=list(versions.select_related("model__team").order_by("seen_in_serving_at")),
        endpoints=list(endpoints.select_related("team").order_by("seen_in_serving_at")),
    )


def seen_badge(flagged: bool) -> SafeString:
    """The "seen in serving" badge with the tooltip that explains it, or nothing."""
    if not flagged:
        return SafeString("")
    return format_html(
        '<span class="badge seen-in-serving" title="{}">seen in serving</span>',
        SEEN_IN_SERVING_HELP,
    )


def name_with_badge(name: str, flagged: bool) -> SafeString:
    """A table cell's name followed by its badge when it is seen in serving only."""
    return format_html("{} {}", name, seen_badge(flagged)) if flagged else format_html("{}", name)


def registered_column(version_of: Callable[[Any], ModelVersion]) -> Column:
    """When a row's version entered the registry; "not in the registry" (no time in the
    export) for a version only serving knows, which has no registration time of its own."""

    def registered(row: Any) -> datetime | None:
        version = version_of(row)
        return None if version.seen_in_serving_only else version.registered_at

    return Column(
        key="registered_at",
        label="Registered",
        value=registered,
        display=lambda row: (
            "not in the registry"
            if version_of(row).seen_in_serving_only
            else moment_format(version_of(row).registered_at)
        ),
    )
