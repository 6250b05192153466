"""Versions and endpoints seen in serving but not in the registry, for the pages that list
versions and endpoints by name (the flag itself: `seen_in_serving_at`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lifecycle.catalog.filtersets import RegisteredModelFilterSet
from lifecycle.catalog.models import Endpoint, ModelVersion, RegisteredModel

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
