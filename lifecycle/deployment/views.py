from __future__ import annotations

from itertools import groupby

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from lifecycle.catalog.models import Deployment
from lifecycle.deployment.filtersets import DeploymentWindowFilterSet
from lifecycle.deployment.kpis import models_in_production


def index(request: HttpRequest) -> HttpResponse:
    deployments = DeploymentWindowFilterSet(
        request.GET,
        queryset=Deployment.objects.select_related("model_version__model", "endpoint"),
    )
    rows = deployments.qs.order_by("endpoint__name", "role", "-started_at")
    by_endpoint = [
        {"endpoint": endpoint, "deployments": list(items)}
        for endpoint, items in groupby(rows, key=lambda d: d.endpoint)
    ]
    for group in by_endpoint:
        group["models"] = len({d.model_version.model_id for d in group["deployments"]})
    return render(
        request,
        "deployment/index.html",
        {
            "filter_form": deployments.form,
            "time_range": deployments.time_range,
            "by_endpoint": by_endpoint,
            "in_production": models_in_production(
                deployments.qs, time_range=deployments.time_range
            ),
        },
    )
