"""Read side of the data preparation API: datasets, versions with their profiles, diffs.
(Uploads and profile pushes are in `ingestion.profiling.api`.)"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lifecycle.catalog.kpis import comparison_read
from lifecycle.catalog.kpis.serializers import kpis_serialize
from lifecycle.catalog.models import Dataset, DatasetVersion
from lifecycle.catalog.schema import PREVIOUS_PARAMETER
from lifecycle.dataprep.filtersets import DatasetFilterSet
from lifecycle.dataprep.kpis import dataset_rows, profile_diff, version_kpis
from lifecycle.dataprep.models import DatasetProfile


def version_summary(version: DatasetVersion, request: Request | None = None) -> dict[str, Any]:
    profile: DatasetProfile | None = getattr(version, "profile", None)
    name, v = version.dataset.name, version.version
    return {
        "dataset": name,
        "version": v,
        "created_at": version.created_at,
        "source": profile.source if profile else None,
        "file_name": profile.file_name if profile else None,
        "rows": profile.rows if profile else None,
        "columns": profile.columns if profile else None,
        "completeness_pct": profile.completeness_pct if profile else None,
        "newest_record_at": profile.newest_record_at if profile else None,
        "page": reverse("dataprep:version", args=[name, v]),
        "url": reverse("api-dataset-version", args=[name, v]),
        "model_versions": [
            {"model": mv.model.name, "version": mv.version}
            for mv in version.model_versions.select_related("model")
        ],
    }


class DatasetListView(APIView):
    @extend_schema(
        operation_id="datasets_list",
        parameters=[PREVIOUS_PARAMETER],
        responses=OpenApiTypes.OBJECT,
        description="Datasets with their freshness KPIs; the shared filters apply.",
    )
    def get(self, request: Request) -> Response:
        filterset = DatasetFilterSet(request.query_params, queryset=Dataset.objects.all())
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        # Read as on every KPI endpoint; a dataset's KPIs are its state as of now
        # (compares: false), so none carries a previous period's value.
        comparison_read(request.query_params)
        rows = dataset_rows(filterset.qs, now=timezone.now())
        return Response(
            {
                "datasets": [
                    {
                        "name": row.dataset.name,
                        "team": row.dataset.team.name,
                        "source": row.dataset.source,
                        "versions": row.versions,
                        "latest_version_at": row.latest_version_at,
                        "model_versions": row.model_versions,
                        "kpis": kpis_serialize(row.kpis),
                    }
                    for row in rows
                ]
            }
        )


class DatasetVersionListView(APIView):
    @extend_schema(operation_id="dataset_versions_list", responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, name: str) -> Response:
        dataset = get_object_or_404(Dataset, name=name)
        versions = dataset.versions.select_related("profile", "dataset").order_by("-created_at")
        return Response({"versions": [version_summary(v, request) for v in versions]})


class DatasetVersionView(APIView):
    @extend_schema(
        operation_id="dataset_version_retrieve",
        parameters=[PREVIOUS_PARAMETER],
        responses=OpenApiTypes.OBJECT,
        description="One version with its KPIs and its whole profile (null = unknown).",
    )
    def get(self, request: Request, name: str, version: str) -> Response:
        # Read as on every KPI endpoint; a version's KPIs are facts of it (compares: false).
        comparison_read(request.query_params)
        found = get_object_or_404(
            DatasetVersion.objects.select_related("dataset", "profile"),
            dataset__name=name,
            version=version,
        )
        profile = getattr(found, "profile", None)
        return Response(
            {
                **version_summary(found, request),
                "kpis": kpis_serialize(version_kpis(found, now=timezone.now())),
                "profile": profile.profile if profile else None,
            }
        )


class DatasetDiffView(APIView):
    @extend_schema(
        operation_id="dataset_diff",
        parameters=[
            OpenApiParameter("base", str, required=True, description="Base version name"),
            OpenApiParameter("new", str, required=True, description="New version name"),
        ],
        responses=OpenApiTypes.OBJECT,
        description="Per column: schema change, missing % change, PSI and KS/chi-square.",
    )
    def get(self, request: Request, name: str) -> Response:
        dataset = get_object_or_404(Dataset, name=name)
        base_name, new_name = request.query_params.get("base"), request.query_params.get("new")
        errors = {
            k: "required: a version name."
            for k, v in (("base", base_name), ("new", new_name))
            if not v
        }
        if errors:
            raise ValidationError(errors)
        profiles = {
            p.version.version: p
            for p in DatasetProfile.objects.filter(
                version__dataset=dataset, version__version__in=[base_name, new_name]
            ).select_related("version")
        }
        missing = {
            k: f"{dataset.name} has no profiled version {v!r}."
            for k, v in (("base", base_name), ("new", new_name))
            if v not in profiles
        }
        if missing:
            raise ValidationError(missing)
        diff = profile_diff(base=profiles[base_name].profile, new=profiles[new_name].profile)
        return Response(
            {
                "dataset": dataset.name,
                "base": base_name,
                "new": new_name,
                "schema_changed": diff.schema_changed,
                "columns": [{**c.__dict__, "flagged": c.flagged} for c in diff.columns],
            }
        )
