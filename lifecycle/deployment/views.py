from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from lifecycle.catalog.kpis import KpiRequestError, kpi_request_build
from lifecycle.catalog.models import ModelVersion, RegisteredModel, Role
from lifecycle.catalog.roles import role_of
from lifecycle.catalog.seen import seen_in_serving_read
from lifecycle.deployment import charts
from lifecycle.deployment.filtersets import DeploymentWindowFilterSet, VersionMilestoneFilterSet
from lifecycle.deployment.kpis.overview import deployment_overview
from lifecycle.deployment.models import LifecycleChange, Registry
from lifecycle.deployment.timeline import model_timeline


def index(request: HttpRequest) -> HttpResponse:
    filters = DeploymentWindowFilterSet(request.GET)
    # No time range until the filters read: a bad window has none to name.
    context = {"filter_form": filters.form}
    try:
        overview = deployment_overview(kpi_request_build(query=request.GET, now=timezone.now()))
    except KpiRequestError as error:
        context["errors"] = error.errors
        return render(request, "deployment/index.html", context, status=400)
    context.update(
        overview=overview,
        time_range=overview.time_range,
        seen=seen_in_serving_read(query=request.GET),
        charts={
            "ttd_team": charts.time_to_deploy_distribution(
                overview.time_to_deploy_by["team"], group="team"
            ),
            "ttd_trend": charts.time_to_deploy_trend(overview.time_to_deploy_by["month"]),
            "new_models": charts.new_models_per_month(overview.new_models_by_month),
        },
    )
    return render(request, "deployment/index.html", context)


def timeline(request: HttpRequest, name: str) -> HttpResponse:
    model = get_object_or_404(RegisteredModel, name=name)
    filters = VersionMilestoneFilterSet(request.GET, queryset=ModelVersion.objects.none())
    time_range = filters.time_range
    entries = model_timeline(model=model, time_range=time_range)
    return render(
        request,
        "deployment/timeline.html",
        {
            "model": model,
            "entries": entries,
            "time_range": time_range,
            "chart": charts.timeline_figure(entries, time_range=time_range),
            "filter_form": filters.form,
        },
        status=400 if filters.form.errors else 200,
    )


def registries(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "deployment/registries.html",
        {"registries": Registry.objects.all(), "is_admin": role_of(request.user) == Role.ADMIN},
    )


def registry_detail(request: HttpRequest, name: str) -> HttpResponse:
    registry = Registry.objects.filter(name=name).first()
    if registry is None:
        raise Http404("no such registry")
    return render(
        request,
        "deployment/registry.html",
        {
            "registry": registry,
            "recent": LifecycleChange.objects.filter(registry=registry)
            .select_related("model", "model_version")
            .order_by("-recorded_at", "-pk")[:50],
            "is_admin": role_of(request.user) == Role.ADMIN,
        },
    )
