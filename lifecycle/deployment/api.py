"""The deployment API: registries (admins only), the ledger, and the deployment KPIs."""

from __future__ import annotations

from typing import Any

import pandas as pd
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lifecycle.catalog.kpis import KpiRequestError, kpi_request_build
from lifecycle.catalog.kpis.serializers import kpis_serialize
from lifecycle.catalog.models import Role
from lifecycle.catalog.roles import role_of
from lifecycle.catalog.schema import KPI_FILTER_PARAMETERS
from lifecycle.catalog.services import catalog_delete
from lifecycle.deployment.filtersets import LifecycleChangeFilterSet
from lifecycle.deployment.kpis import Comparison
from lifecycle.deployment.kpis.overview import deployment_overview
from lifecycle.deployment.models import LifecycleChange, Registry
from lifecycle.deployment.serializers import LifecycleChangeSerializer, RegistrySerializer


class AdminsOnly(permissions.BasePermission):
    message = "Only admins configure registries."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return role_of(request.user) == Role.ADMIN


class RegistryViewSet(viewsets.ModelViewSet):
    queryset = Registry.objects.select_related(
        "default_team", "default_industry", "deploy_endpoint"
    )
    serializer_class = RegistrySerializer
    permission_classes = [AdminsOnly]
    lookup_field = "name"
    lookup_value_regex = r"[^/]+"

    def perform_destroy(self, instance: Registry) -> None:
        # The ledger's changes name the registry that saw them: deleting it would unlink them.
        catalog_delete(
            principal=self.request.user,
            instance=instance,
            instead="disable it instead (PATCH enabled=false); what it recorded stays",
        )


class LifecycleChangeViewSet(viewsets.ReadOnlyModelViewSet):
    """The lifecycle ledger: every observed change with the interval it happened in."""

    queryset = LifecycleChange.objects.select_related(
        "model", "model_version", "registry", "endpoint"
    ).order_by("-happened_before", "-pk")
    serializer_class = LifecycleChangeSerializer
    filterset_class = LifecycleChangeFilterSet


def _records(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    if frame is None or frame.empty:
        return []
    clean = frame.astype(object).where(frame.notna(), None)
    return clean.to_dict(orient="records")


def _comparison(c: Comparison) -> dict[str, Any]:
    return {
        "endpoint": c.endpoint,
        "model": c.model,
        "champion": vars(c.champion),
        "challenger": vars(c.challenger),
        "paired_events": c.paired,
        "prediction_agreement": c.agreement,
    }


class DeploymentKpisView(APIView):
    @extend_schema(
        parameters=[
            # Deployment KPIs are per model and endpoint, not per version.
            *(p for p in KPI_FILTER_PARAMETERS if p.name != "version"),
            OpenApiParameter("failure_days", int, description="change-failure horizon"),
        ],
        responses={200: OpenApiResponse(description="deployment KPIs and breakdowns")},
    )
    def get(self, request: Request) -> Response:
        try:
            kpi_request = kpi_request_build(query=request.query_params, now=timezone.now())
            overview = deployment_overview(kpi_request)
        except KpiRequestError as error:
            return Response(error.errors, status=400)
        return Response(
            {
                "start": overview.time_range.start,
                "end": overview.time_range.end,
                "failure_days": overview.failure_days,
                "kpis": kpis_serialize(overview.kpis),
                "time_to_deploy_by": {
                    by: _records(frame) for by, frame in overview.time_to_deploy_by.items()
                },
                "new_models_by_month": _records(overview.new_models_by_month),
                "traffic_split": _records(
                    None
                    if overview.traffic_split is None
                    else overview.traffic_split.drop(columns=["endpoint_id", "version_id"])
                ),
                "champion_challenger": [_comparison(c) for c in overview.comparisons],
            }
        )
