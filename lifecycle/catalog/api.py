"""The catalog API: everything looked up by name; writes by admins and MLOps engineers,
each through `services` (a token writes only its own team's objects; a delete never
cascades away other data)."""

from __future__ import annotations

from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404
from rest_framework import serializers, viewsets

from lifecycle.catalog.filtersets import (
    DeploymentFilterSet,
    EndpointFilterSet,
    IndustryFilterSet,
    ModelVersionFilterSet,
    RegisteredModelFilterSet,
    TeamFilterSet,
)
from lifecycle.catalog.models import (
    Deployment,
    Endpoint,
    Industry,
    ModelVersion,
    RegisteredModel,
    Team,
)
from lifecycle.catalog.serializers import (
    DeploymentSerializer,
    EndpointSerializer,
    IndustrySerializer,
    ModelVersionSerializer,
    RegisteredModelSerializer,
    TeamSerializer,
)
from lifecycle.catalog.services import catalog_create, catalog_delete, catalog_update

_NAME_IN_URL = r"[^/]+"


class CatalogViewSet(viewsets.ModelViewSet):
    """A ModelViewSet whose writes go through the catalog services, not serializer.save()."""

    def creation_data(self, serializer: serializers.BaseSerializer) -> dict:
        return dict(serializer.validated_data)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = catalog_create(
            principal=self.request.user,
            model_class=self.get_queryset().model,
            data=self.creation_data(serializer),
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = catalog_update(
            principal=self.request.user,
            instance=serializer.instance,
            data=serializer.validated_data,
        )

    def perform_destroy(self, instance: Model) -> None:
        catalog_delete(principal=self.request.user, instance=instance)


class IndustryViewSet(CatalogViewSet):
    queryset = Industry.objects.all()
    serializer_class = IndustrySerializer
    filterset_class = IndustryFilterSet
    lookup_field = "name"
    lookup_value_regex = _NAME_IN_URL


class TeamViewSet(CatalogViewSet):
    queryset = Team.objects.all()
    serializer_class = TeamSerializer
    filterset_class = TeamFilterSet
    lookup_field = "name"
    lookup_value_regex = _NAME_IN_URL


class RegisteredModelViewSet(CatalogViewSet):
    queryset = RegisteredModel.objects.select_related("team", "industry")
    serializer_class = RegisteredModelSerializer
    filterset_class = RegisteredModelFilterSet
    lookup_field = "name"
    lookup_value_regex = _NAME_IN_URL


class ModelVersionViewSet(CatalogViewSet):
    serializer_class = ModelVersionSerializer
    filterset_class = ModelVersionFilterSet
    lookup_field = "version"
    lookup_value_regex = _NAME_IN_URL

    def registered_model(self) -> RegisteredModel:
        return get_object_or_404(RegisteredModel, name=self.kwargs["model_name"])

    def get_queryset(self) -> QuerySet[ModelVersion]:
        if getattr(self, "swagger_fake_view", False):
            return ModelVersion.objects.none()
        return ModelVersion.objects.filter(model=self.registered_model()).select_related("model")

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False) and "model_name" in self.kwargs:
            context["registered_model"] = self.registered_model()
        return context

    def creation_data(self, serializer: serializers.BaseSerializer) -> dict:
        return {**serializer.validated_data, "model": self.registered_model()}


class EndpointViewSet(CatalogViewSet):
    queryset = Endpoint.objects.select_related("team")
    serializer_class = EndpointSerializer
    filterset_class = EndpointFilterSet
    lookup_field = "name"
    lookup_value_regex = _NAME_IN_URL


class DeploymentViewSet(CatalogViewSet):
    queryset = Deployment.objects.select_related("model_version__model", "endpoint")
    serializer_class = DeploymentSerializer
    filterset_class = DeploymentFilterSet
