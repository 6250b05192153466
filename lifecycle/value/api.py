"""The business-value KPI API: filters -> value KPIs -> the shared KPI serializer."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

# The one KPI serializer every KPI answer uses (it lives with the composed endpoints).
from lifecycle.catalog.kpis import KpiRequestError, kpi_request_build
from lifecycle.catalog.kpis.serializers import KpiSerializer
from lifecycle.catalog.schema import KPI_FILTER_PARAMETERS
from lifecycle.value.kpis import value_report


class CallCountSerializer(serializers.Serializer):
    key = serializers.CharField()
    calls = serializers.IntegerField()


class ModelCostSerializer(serializers.Serializer):
    model = serializers.CharField()
    calls = serializers.IntegerField()
    cost_usd = serializers.DecimalField(max_digits=20, decimal_places=6, coerce_to_string=False)


class ValueKpisSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    kpis = KpiSerializer(many=True)
    calls_by_caller = CallCountSerializer(many=True)
    calls_by_team = CallCountSerializer(many=True)
    calls_by_business_unit = CallCountSerializer(many=True)
    cost_by_model = ModelCostSerializer(many=True)


class ValueKpisView(APIView):
    """Unique callers and calls, calls by caller (top 50), team and business unit, and
    serving cost per model, read from the rollups."""

    @extend_schema(parameters=KPI_FILTER_PARAMETERS, responses=ValueKpisSerializer)
    def get(self, request: Request) -> Response:
        try:
            kpi_request = kpi_request_build(query=request.query_params, now=timezone.now())
            report = value_report(kpi_request)
        except KpiRequestError as error:
            return Response(error.errors, status=status.HTTP_400_BAD_REQUEST)
        body = ValueKpisSerializer(
            {
                "start": report.time_range.start,
                "end": report.time_range.end,
                "kpis": report.kpis,
                "calls_by_caller": report.by_caller,
                "calls_by_team": report.by_team,
                "calls_by_business_unit": report.by_business_unit,
                "cost_by_model": report.cost_by_model,
            }
        )
        return Response(body.data)
