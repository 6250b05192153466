"""Training runs: `GET /api/v1/training-runs/` lists them with their metrics (filtered like
every page), `POST` records a run's make-up (idempotent by model, version and run_id).
The run's metrics themselves arrive through `POST /api/v1/metrics/` with phase
"development" and dimensions {"run_id": ...}, or from the MLflow sync."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lifecycle.catalog.auth import principal_token_id
from lifecycle.catalog.kpis import comparison_read
from lifecycle.catalog.kpis.serializers import kpis_serialize
from lifecycle.catalog.models import DatasetVersion, LifecycleMetric, ModelVersion, Role
from lifecycle.catalog.ownership import principal_write_check
from lifecycle.catalog.schema import PREVIOUS_PARAMETER
from lifecycle.development.filtersets import TrainingMetricFilterSet, TrainingRunFilterSet
from lifecycle.development.kpis import training_runs
from lifecycle.development.models import TrainingRun


class TrainingRunSerializer(serializers.Serializer):
    model = serializers.CharField()
    version = serializers.CharField()
    run_id = serializers.CharField(max_length=200)
    started_at = serializers.DateTimeField(required=False, allow_null=True)
    dataset = serializers.CharField(required=False, allow_null=True)
    dataset_version = serializers.CharField(required=False, allow_null=True)
    features_total = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    features_transformed = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    features_extracted = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    labeling = serializers.DictField(
        child=serializers.FloatField(min_value=0, max_value=100), required=False
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        found = ModelVersion.objects.filter(
            model__name=attrs["model"], version=attrs["version"]
        ).first()
        if found is None:
            raise ValidationError(
                {"version": f"model {attrs['model']!r} has no version {attrs['version']!r}."}
            )
        attrs["model_version"] = found
        if bool(attrs.get("dataset")) != bool(attrs.get("dataset_version")):
            raise ValidationError({"dataset_version": "give dataset and dataset_version together."})
        if attrs.get("dataset"):
            dv = DatasetVersion.objects.filter(
                dataset__name=attrs["dataset"], version=attrs["dataset_version"]
            ).first()
            if dv is None:
                raise ValidationError(
                    {
                        "dataset_version": f"dataset {attrs['dataset']!r} has no version "
                        f"{attrs['dataset_version']!r}."
                    }
                )
            attrs["dataset_version_obj"] = dv
        total = attrs.get("features_total")
        for key in ("features_transformed", "features_extracted"):
            if total is not None and (attrs.get(key) or 0) > total:
                raise ValidationError({key: "exceeds features_total."})
        labeling = attrs.get("labeling") or {}
        unknown = set(labeling) - {"human", "semi_supervised", "third_party"}
        if unknown:
            raise ValidationError({"labeling": f"unknown technique(s): {', '.join(unknown)}."})
        if sum(labeling.values()) > 100.0001:
            raise ValidationError({"labeling": "shares add up to more than 100."})
        return attrs


def training_run_record(*, data: dict[str, Any], principal: Any) -> tuple[TrainingRun, bool]:
    """Create or update a run's make-up; its dataset version joins the model version's
    lineage (the catalog's ModelVersion.datasets), which the dataset pages read. A token
    records runs of its own team's models only."""
    model = data["model_version"].model
    principal_write_check(
        principal=principal, team=model.team, subject=f"model {model.name!r}", field="model"
    )
    labeling = data.get("labeling") or {}
    with transaction.atomic():
        run, created = TrainingRun.objects.update_or_create(
            model_version=data["model_version"],
            run_id=data["run_id"],
            defaults={
                "started_at": data.get("started_at"),
                "dataset_version": data.get("dataset_version_obj"),
                "features_total": data.get("features_total"),
                "features_transformed": data.get("features_transformed"),
                "features_extracted": data.get("features_extracted"),
                "labeling_human_pct": labeling.get("human"),
                "labeling_semi_supervised_pct": labeling.get("semi_supervised"),
                "labeling_third_party_pct": labeling.get("third_party"),
                "pushed_by_id": principal_token_id(principal),
            },
        )
        if run.dataset_version is not None:
            data["model_version"].datasets.add(run.dataset_version)
    return run, created


class TrainingRunsView(APIView):
    write_roles = frozenset({Role.ADMIN, Role.MLOPS, Role.DATA_TEAM})

    @extend_schema(
        operation_id="training_runs_list",
        parameters=[PREVIOUS_PARAMETER],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        # Read as on every KPI endpoint; a run's KPIs are facts of it (compares: false),
        # so none carries a previous period's value.
        comparison_read(request.query_params)
        runs = TrainingRunFilterSet(request.query_params, queryset=TrainingRun.objects.all())
        metrics = TrainingMetricFilterSet(
            request.query_params, queryset=LifecycleMetric.objects.all()
        )
        if not runs.is_valid():
            raise ValidationError(runs.errors)
        rows = training_runs(metrics=metrics.filter_queryset_as_asked(), runs=runs.qs)
        return Response(
            {
                "runs": [
                    {
                        "model": r.model_version.model.name,
                        "version": r.model_version.version,
                        "run_id": r.run_id,
                        "started_at": r.started_at,
                        "dataset": r.dataset_version.dataset.name if r.dataset_version else None,
                        "dataset_version": r.dataset_version.version if r.dataset_version else None,
                        "metrics": r.metrics,
                        "kpis": kpis_serialize(r.kpis),
                    }
                    for r in rows
                ]
            }
        )

    @extend_schema(
        operation_id="training_run_record",
        request=TrainingRunSerializer,
        responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request) -> Response:
        serializer = TrainingRunSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run, created = training_run_record(data=serializer.validated_data, principal=request.user)
        return Response(
            {
                "model": run.model_version.model.name,
                "version": run.model_version.version,
                "run_id": run.run_id,
                "created": created,
            },
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
