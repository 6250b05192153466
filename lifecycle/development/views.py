from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from lifecycle.catalog.filtersets import ModelVersionFilterSet
from lifecycle.catalog.models import ModelVersion


def index(request: HttpRequest) -> HttpResponse:
    versions = ModelVersionFilterSet(
        request.GET,
        queryset=ModelVersion.objects.select_related("model__team", "model__industry")
        .prefetch_related("datasets__dataset")
        .annotate(n_deployments=Count("deployments"))
        .order_by("model__name", "-registered_at"),
    )
    return render(
        request,
        "development/index.html",
        {"filter_form": versions.form, "versions": versions.qs},
    )
