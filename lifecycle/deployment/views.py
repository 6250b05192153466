from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from lifecycle.catalog.models import ModelVersion, RegisteredModel, Role
from lifecycle.catalog.roles import role_of
from lifecycle.deployment import charts
from lifecycle.deployment.filtersets import DeploymentWindowFilterSet, VersionMilestoneFilterSet
from lifecycle.deployment.models import ChangeKind, LifecycleChange, Registry
from lifecycle.deployment.overview import deployment_overview
from lifecycle.deployment.timeline import TimelineEntry, model_timeline


def index(request: HttpRequest) -> HttpResponse:
    overview = deployment_overview(request.GET)
    chart_json = {}
    if not overview.errors:
        chart_json = {
            "ttd_team": charts.time_to_deploy_distribution(
                overview.time_to_deploy_by["team"], group="team"
            ),
            "ttd_trend": charts.time_to_deploy_trend(overview.time_to_deploy_by["month"]),
            "new_models": charts.new_models_per_month(overview.new_models_by_month),
        }
    return render(
        request,
        "deployment/index.html",
        {
            "overview": overview,
            "charts": chart_json,
            "filter_form": DeploymentWindowFilterSet(request.GET).form,
        },
        status=400 if overview.errors else 200,
    )


def timeline(request: HttpRequest, name: str) -> HttpResponse:
    model = get_object_or_404(RegisteredModel, name=name)
    filters = VersionMilestoneFilterSet(request.GET, queryset=ModelVersion.objects.none())
    time_range = filters.time_range
    entries = failed_deployments_word(
        model=model, entries=model_timeline(model=model, time_range=time_range)
    )
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


def failed_deployments_word(
    *, model: RegisteredModel, entries: list[TimelineEntry]
) -> list[TimelineEntry]:
    """Failed deployments as a sentence ("Failed to deploy as production on ep: reason").

    model_timeline joins a change's parts with spaces, which puts a failure's reason
    between its role and endpoint; its ledger rows still hold the parts, so they are
    re-read here (a handful per model) and matched on version and interval.
    """
    failed = [e for e in entries if e.kind == ChangeKind.DEPLOYMENT_FAILED]
    if not failed:
        return entries
    changes = (
        LifecycleChange.objects.current()
        .filter(
            model=model,
            kind=ChangeKind.DEPLOYMENT_FAILED,
            happened_after__in={e.after for e in failed},
            happened_before__in={e.before for e in failed},
        )
        .select_related("model_version", "endpoint")
        .order_by("pk")
    )
    by_moment: dict[tuple[str, datetime, datetime], list[LifecycleChange]] = {}
    for change in changes:
        version = change.model_version.version if change.model_version else ""
        key = (version, change.happened_after, change.happened_before)
        by_moment.setdefault(key, []).append(change)
    worded = []
    for entry in entries:
        matches = by_moment.get((entry.version, entry.after, entry.before))
        if entry.kind == ChangeKind.DEPLOYMENT_FAILED and matches:
            entry = replace(entry, detail=failed_deployment_sentence(change=matches.pop(0)))
        worded.append(entry)
    return worded


def failed_deployment_sentence(*, change: LifecycleChange) -> str:
    sentence = "Failed to deploy"
    if change.role:
        sentence += f" as {change.role}"
    if change.endpoint:
        sentence += f" on {change.endpoint.name}"
    reason = str((change.detail or {}).get("reason", "")).strip()
    return f"{sentence}: {reason}" if reason else f"{sentence}."


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
