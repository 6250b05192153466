from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from lifecycle.catalog.kpis import KpiRequestError, kpi_compute, kpi_request_build
from lifecycle.catalog.models import Dataset, DatasetVersion, Team
from lifecycle.catalog.roles import role_of
from lifecycle.catalog.tables import table_export
from lifecycle.dataprep import charts
from lifecycle.dataprep import profiles as fmt
from lifecycle.dataprep.filtersets import DatasetFilterSet
from lifecycle.dataprep.kpis import (
    RECORD_AGE,
    TIME_SERIES_SHARE,
    profile_diff,
    version_kpis,
)
from lifecycle.dataprep.kpis.engine import request_dataset_rows
from lifecycle.dataprep.models import DatasetProfile
from lifecycle.dataprep.tables import columns_table, datasets_table, diff_table, versions_table

UPLOAD_ROLES = {"admin", "mlops", "data_team"}


def _filter_errors(request: HttpRequest) -> dict[str, list[str]]:
    """The filters a page without a filter bar could not read: still a 400 naming them,
    as everywhere, though the page narrows nothing by them."""
    filters = DatasetFilterSet(request.GET)
    return {} if filters.is_valid() else {k: list(v) for k, v in filters.errors.items()}


def index(request: HttpRequest) -> HttpResponse:
    context = {
        "filter_form": DatasetFilterSet(request.GET).form,
        # Freshness is as of now: the datasets have no window to narrow.
        "no_window": True,
        "rows": [],
        "can_upload": role_of(request.user) in UPLOAD_ROLES,
        "teams": Team.objects.all(),
        "labeling_choices": fmt.LABELING_TECHNIQUES,
    }
    try:
        kpi_request = kpi_request_build(query=request.GET, now=timezone.now())
        context["rows"] = request_dataset_rows(kpi_request)
    except KpiRequestError as error:
        context["errors"] = error.errors
        return render(request, "dataprep/index.html", context, status=400)
    table = datasets_table(context["rows"])
    if export := table_export(request, [table], page="data"):
        return export
    context["datasets_table"] = table
    context["time_series_share"] = kpi_compute(TIME_SERIES_SHARE.id, kpi_request)
    return render(request, "dataprep/index.html", context)


def dataset(request: HttpRequest, name: str) -> HttpResponse:
    found = get_object_or_404(Dataset.objects.select_related("team"), name=name)
    versions = found.versions.select_related("profile").order_by("-created_at")
    errors = _filter_errors(request)
    table = versions_table(found, versions)
    if not errors and (export := table_export(request, [table], page="data", subject=name)):
        return export
    return render(
        request,
        "dataprep/dataset.html",
        # One dataset's versions: the filter bar would narrow nothing here, so none.
        {"dataset": found, "versions_table": table, "errors": errors},
        status=400 if errors else 200,
    )


def version(request: HttpRequest, name: str, version: str) -> HttpResponse:
    found = get_object_or_404(
        DatasetVersion.objects.select_related("dataset__team", "profile"),
        dataset__name=name,
        version=version,
    )
    stored: DatasetProfile | None = getattr(found, "profile", None)
    profile = stored.profile if stored else None
    column_charts = []
    general = {}
    if profile:
        general = {
            "kinds": charts.kind_share_chart(profile),
            "missing": charts.missing_chart(profile),
            "labeling": charts.shares_chart(
                "Labeling technique", profile["dataset"].get("labeling_shares")
            ),
            "party": charts.shares_chart(
                "First- vs third-party rows", profile["dataset"].get("party_shares")
            ),
        }
        general = {k: v for k, v in general.items() if v}
        for column in profile["column_profiles"]:
            chart = charts.histogram_chart(column) or charts.top_values_chart(column)
            column_charts.append((column, chart))
    previous = (
        found.dataset.versions.filter(created_at__lt=found.created_at, profile__isnull=False)
        .order_by("-created_at")
        .first()
    )
    errors = _filter_errors(request)
    table = columns_table(column_charts)
    if not errors and (
        export := table_export(request, [table], page="data", subject=f"{name}-version-{version}")
    ):
        return export
    kpis = version_kpis(found, now=timezone.now())
    return render(
        request,
        "dataprep/version.html",
        {
            "version": found,
            "stored": stored,
            "profile": profile,
            "kpis": kpis,
            "record_age_days": next(k.value for k in kpis if k.definition is RECORD_AGE),
            "charts": general,
            "column_charts": column_charts,
            "columns_table": table,
            "previous": previous,
            "model_versions": found.model_versions.select_related("model"),
            "outlier_rule": fmt.OUTLIER_RULE_TEXT,
            "errors": errors,
        },
        status=400 if errors else 200,
    )


def diff(request: HttpRequest, name: str) -> HttpResponse:
    found = get_object_or_404(Dataset, name=name)
    versions = list(
        found.versions.filter(profile__isnull=False)
        .select_related("profile")
        .order_by("created_at")
    )
    by_name = {v.version: v for v in versions}
    # A version asked for by name is compared or refused, never silently replaced (as
    # the diff API answers).
    errors = {
        key: [f"{found.name} has no profiled version {asked!r}."]
        for key in ("base", "new")
        if (asked := request.GET.get(key)) and asked not in by_name
    }
    base = by_name.get(request.GET.get("base", ""))
    new = by_name.get(request.GET.get("new", ""))
    if new is None and versions and "new" not in errors:
        new = versions[-1]
    if base is None and len(versions) > 1 and "base" not in errors:
        base = versions[-2] if new == versions[-1] else versions[0]
    result = None
    chart = None
    if base and new and not errors:
        result = profile_diff(base=base.profile.profile, new=new.profile.profile)
        chart = charts.diff_chart(result.columns)
    errors |= _filter_errors(request)
    table = diff_table(result.columns if result else [])
    if not errors and (
        export := table_export(
            request,
            [table],
            page="data",
            subject=f"{name}-{base.version if base else ''}-to-{new.version if new else ''}",
        )
    ):
        return export
    return render(
        request,
        "dataprep/diff.html",
        {
            "dataset": found,
            "versions": versions,
            "base": base,
            "new": new,
            "diff": result,
            "chart": chart,
            "diff_table": table,
            "errors": errors,
        },
        status=400 if errors else 200,
    )
