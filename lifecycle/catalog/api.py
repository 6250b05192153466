"""The catalog API: everything looked up by name; writes by admins and MLOps engineers."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from rest_framework import viewsets

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

_NAME_IN_URL = r"[^/]+"


class IndustryViewSet(viewsets.ModelViewSet):
    queryset = Industry.objects.all()
    serializer_class = IndustrySerializer
    filterset_class = IndustryFilterSet
    lookup_field = "name"
    lookup_value_regex = _NAME_IN_URL


class TeamViewSet(viewsets.ModelViewSet):
    queryset = Team.objects.all()
    serializer_class = TeamSerializer
    filterset_class = TeamFilterSet
    lookup_field = "name"
    lookup_value_regex = _NAME_IN_URL


class RegisteredModelViewSet(viewsets.ModelViewSet):
    queryset = RegisteredModel.objects.select_related("team", "industry")
    serializer_class = RegisteredModelSerializer
    filterset_class = RegisteredModelFilterSet
    lookup_field = "name"
    lookup_value_regex = _NAME_IN_URL


class ModelVersionViewSet(viewsets.ModelViewSet):
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

    def perform_create(self, serializer: ModelVersionSerializer) -> None:
        serializer.save(model=self.registered_model())


class EndpointViewSet(viewsets.ModelViewSet):
    queryset = Endpoint.objects.select_related("team")
    serializer_class = EndpointSerializer
    filterset_class = EndpointFilterSet
    lookup_field = "name"
    lookup_value_regex = _NAME_IN_URL


class DeploymentViewSet(viewsets.ModelViewSet):
    queryset = Deployment.objects.select_related("model_version__model", "endpoint")
    serializer_class = DeploymentSerializer
    filterset_class = DeploymentFilterSet
