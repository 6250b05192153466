"""API pieces shared by every app: the error handler and the composed KPI endpoints."""

from __future__ import annotations

from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError
from django.db.models import ProtectedError, RestrictedError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from kpiboard.portfolio import model_overview, portfolio_overview
from lifecycle.catalog.kpis import KpiRequestError, kpi_request_build
from lifecycle.catalog.kpis.serializers import KpiSerializer, kpis_serialize
from lifecycle.catalog.models import RegisteredModel
from lifecycle.catalog.schema import KPI_FILTER_PARAMETERS
from lifecycle.catalog.services import protected_delete_body

DATABASE_RETRY_AFTER_SECONDS = 5


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus 503 with Retry-After when the database cannot be reached: a
    client should retry later, not treat an outage as its own fault (or ours, a 500)."""
    if isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DatabaseError) and "connect" in str(exc).lower()
    ):
        response = Response(
            {"detail": "The database is unavailable; retry later."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
    if isinstance(exc, KpiRequestError):
        # A filter that cannot be read: the body names each field and why.
        return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ProtectedError | RestrictedError):
        # Still referenced: the client's conflict to resolve, and nothing was deleted.
        objects = getattr(exc, "protected_objects", None) or getattr(exc, "restricted_objects", ())
        return Response(protected_delete_body(protected=objects), status=status.HTTP_409_CONFLICT)
    return drf_exception_handler(exc, context)


class ModelKpisSerializer(serializers.Serializer):
    model = serializers.CharField()
    in_production = serializers.BooleanField()
    kpis = KpiSerializer(many=True)


class PortfolioKpisSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    kpis = KpiSerializer(many=True)
    breakdowns = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField())
    )
    models = ModelKpisSerializer(many=True)


class ModelOverviewSerializer(serializers.Serializer):
    model = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    in_production = serializers.BooleanField()
    kpis = KpiSerializer(many=True)
    breakdowns = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField())
    )


_FILTER_PARAMETERS = [
    *KPI_FILTER_PARAMETERS,
    OpenApiParameter("sort", str, description="Order of `models`, e.g. -inferences"),
]


class PortfolioKpisView(APIView):
    @extend_schema(parameters=_FILTER_PARAMETERS, responses=PortfolioKpisSerializer)
    def get(self, request: Request) -> Response:
        try:
            kpi_request = kpi_request_build(query=request.query_params, now=timezone.now())
            overview = portfolio_overview(kpi_request)
        except KpiRequestError as error:
            return Response(error.errors, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            {
                "start": overview.time_range.start,
                "end": overview.time_range.end,
                # Each with `previous` when the query asked for it (`previous=true`).
                "kpis": kpis_serialize(overview.totals),
                "breakdowns": overview.breakdowns,
                "models": [
                    {
                        "model": row.model.name,
                        "in_production": row.in_production,
                        "kpis": kpis_serialize(row.kpis.values()),
                    }
                    for row in overview.rows
                ],
            }
        )


class ModelKpisView(APIView):
    """Serving KPIs of one model (read from the rollups) with SPEC.md's filters, and
    calls by caller, version and endpoint, errors by failure class."""

    @extend_schema(
        parameters=[p for p in _FILTER_PARAMETERS if p.name not in ("model", "sort")],
        responses=ModelOverviewSerializer,
    )
    def get(self, request: Request, model_name: str) -> Response:
        model = get_object_or_404(RegisteredModel, name=model_name)
        # The model in the path replaces any `model` filter, as model_overview says.
        query = request.query_params.copy()
        query["model"] = model.name
        try:
            kpi_request = kpi_request_build(query=query, now=timezone.now())
            overview = model_overview(model=model, request=kpi_request)
        except KpiRequestError as error:
            return Response(error.errors, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            {
                "model": model.name,
                "start": overview.time_range.start,
                "end": overview.time_range.end,
                "in_production": overview.in_production,
                "kpis": kpis_serialize(overview.kpis),
                "breakdowns": overview.breakdowns,
            }
        )
