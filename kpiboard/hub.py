"""The hub of the product: one model's page, and the pages of its versions and endpoints.

Each shows what every phase knows about its subject (lineage from data preparation,
training runs from development, deployments and the timeline from deployment, serving
health from monitoring), so it is composed here: a phase may not import another. Every
number on them comes from the KPI engine or the read model the phase pages use, through
one KpiRequest narrowed to the subject (`model=`, plus `version=` or `endpoint=`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from django.db.models import Count, Q, QuerySet

from kpiboard.portfolio import ModelOverview, model_overview
from lifecycle.catalog.kpis import KpiRequest, KpiValue, kpi_request_build, kpi_values
from lifecycle.catalog.models import (
    Dataset,
    DatasetVersion,
    Deployment,
    Endpoint,
    LatencyRollup,
    ModelVersion,
    RegisteredModel,
    RollupGranularity,
)
from lifecycle.catalog.windows import TimeRange
from lifecycle.deployment.timeline import TimelineEntry, model_timeline
from lifecycle.development.kpis import RunRow
from lifecycle.development.kpis.engine import request_training_runs
from lifecycle.development.models import TrainingRun
from lifecycle.monitoring.filtersets import IncidentFilterSet
from lifecycle.monitoring.kpis import (
    EMPTY_SUMMARY,
    HEALTH_KEYS,
    ServingSummary,
    health_series,
    serving_summary_by,
)
from lifecycle.monitoring.kpis.engine import MODEL_HEALTH_IDS
from lifecycle.monitoring.kpis.shadows import shadow_copies_count
from lifecycle.monitoring.models import Incident

VERSION_KEY, ENDPOINT_KEY = HEALTH_KEYS


def serving_at(deployments: QuerySet[Deployment], moment: datetime) -> QuerySet[Deployment]:
    """The deployments that were serving at `moment` (started, not yet ended)."""
    return deployments.filter(started_at__lte=moment).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=moment)
    )


def _lineage(versions: list[ModelVersion]) -> dict[int, list[DatasetVersion]]:
    """Each version's training data: the dataset versions it names, and those its
    training runs name, oldest first."""
    found: dict[int, dict[int, DatasetVersion]] = {v.pk: {} for v in versions}
    through = ModelVersion.datasets.through.objects.filter(
        modelversion_id__in=found
    ).select_related("datasetversion__dataset")
    for link in through:
        found[link.modelversion_id][link.datasetversion_id] = link.datasetversion
    runs = TrainingRun.objects.filter(
        model_version_id__in=found, dataset_version__isnull=False
    ).select_related("dataset_version__dataset")
    for run in runs:
        found[run.model_version_id].setdefault(run.dataset_version_id, run.dataset_version)
    return {
        version_id: sorted(datasets.values(), key=lambda d: (d.dataset.name, d.created_at))
        for version_id, datasets in found.items()
    }


def _incidents(request: KpiRequest) -> list[Incident]:
    return list(
        IncidentFilterSet(
            request.query,
            queryset=Incident.objects.select_related("endpoint"),
            now=request.now,
        ).qs
    )


@dataclass(frozen=True)
class VersionRow:
    version: ModelVersion
    datasets: list[DatasetVersion]
    training_runs: int
    serving: list[Deployment]  # at the window's end
    summary: ServingSummary
    shadow_copies: int


@dataclass(frozen=True)
class EndpointRow:
    endpoint: Endpoint
    serving: list[Deployment]  # this model's, at the window's end
    summary: ServingSummary
    shadow_copies: int
    shared_with: list[str]  # the other models serving there at the window's end


@dataclass
class ModelHub:
    overview: ModelOverview
    versions: list[VersionRow] = field(default_factory=list)
    endpoints: list[EndpointRow] = field(default_factory=list)
    datasets: list[Dataset] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    series: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def time_range(self) -> TimeRange:
        return self.overview.time_range


def model_hub(*, model: RegisteredModel, request: KpiRequest) -> ModelHub:
    """What every phase knows of `model` in `request`'s window; `request` carries the
    model's own name as its `model` filter (KpiRequestError for a bad filter)."""
    overview = model_overview(model=model, request=request)
    scope = request.serving_scope()
    end = overview.time_range.end
    # Training runs are facts of a version whatever the window: counted in all.
    versions = list(
        ModelVersion.objects.filter(model=model)
        .annotate(runs=Count("training_runs"))
        .order_by("-registered_at", "-pk")
    )
    lineage = _lineage(versions)
    deployments = Deployment.objects.filter(model_version__model=model).select_related(
        "endpoint", "model_version"
    )
    serving_now = list(serving_at(deployments, end).order_by("endpoint__name", "role"))
    by_version = serving_summary_by(scope, group_by=VERSION_KEY)
    by_endpoint = serving_summary_by(scope, group_by=ENDPOINT_KEY)
    copies = request.serving_scope(shadow_copies=True)
    copies_by_version = shadow_copies_count(copies, group_by=VERSION_KEY)
    copies_by_endpoint = shadow_copies_count(copies, group_by=ENDPOINT_KEY)
    endpoint_ids = {d.endpoint_id for d in deployments} | {
        pk
        for pk in Endpoint.objects.filter(name__in=[n for n in by_endpoint if n]).values_list(
            "pk", flat=True
        )
    }
    endpoints = list(Endpoint.objects.filter(pk__in=endpoint_ids).order_by("name"))
    neighbours: dict[int, set[str]] = {e.pk: set() for e in endpoints}
    for endpoint_id, name in (
        serving_at(Deployment.objects.filter(endpoint_id__in=endpoint_ids), end)
        .exclude(model_version__model=model)
        .values_list("endpoint_id", "model_version__model__name")
    ):
        neighbours[endpoint_id].add(name)
    datasets: dict[int, Dataset] = {}
    for linked in lineage.values():
        for dataset_version in linked:
            datasets.setdefault(dataset_version.dataset_id, dataset_version.dataset)
    return ModelHub(
        overview=overview,
        versions=[
            VersionRow(
                version=v,
                datasets=lineage[v.pk],
                training_runs=v.runs,
                serving=[d for d in serving_now if d.model_version_id == v.pk],
                summary=by_version.get(v.version, EMPTY_SUMMARY),
                shadow_copies=copies_by_version.copies(v.version),
            )
            for v in versions
        ],
        endpoints=[
            EndpointRow(
                endpoint=e,
                serving=[d for d in serving_now if d.endpoint_id == e.pk],
                summary=by_endpoint.get(e.name, EMPTY_SUMMARY),
                shadow_copies=copies_by_endpoint.copies(e.name),
                shared_with=sorted(neighbours[e.pk]),
            )
            for e in endpoints
        ],
        datasets=sorted(datasets.values(), key=lambda d: d.name),
        timeline=model_timeline(model=model, time_range=overview.time_range),
        incidents=_incidents(request),
        series=health_series(scope),
    )


@dataclass
class SubjectHealth:
    """A version's or an endpoint's serving KPIs, health series and incidents."""

    time_range: TimeRange
    kpis: list[KpiValue]
    incidents: list[Incident]
    series: dict[str, pd.DataFrame]


def _subject_health(request: KpiRequest) -> SubjectHealth:
    scope = request.serving_scope()
    return SubjectHealth(
        time_range=scope.time_range,
        kpis=kpi_values(MODEL_HEALTH_IDS, request),
        incidents=_incidents(request),
        series=health_series(scope),
    )


@dataclass
class VersionHub:
    version: ModelVersion
    health: SubjectHealth
    datasets: list[DatasetVersion]
    training_runs: list[RunRow]
    deployments: list[Deployment]  # every deployment of the version, newest first


def version_hub(*, version: ModelVersion, request: KpiRequest) -> VersionHub:
    """One version of a model; `request` carries `model=` and `version=`."""
    return VersionHub(
        version=version,
        health=_subject_health(request),
        datasets=_lineage([version])[version.pk],
        # Every run of the version, whatever the window (as the model page counts them).
        training_runs=request_training_runs(
            kpi_request_build(
                query={"model": version.model.name, "version": version.version}, now=request.now
            )
        ),
        deployments=list(
            version.deployments.select_related("endpoint").order_by("-started_at", "-pk")
        ),
    )


@dataclass
class EndpointHub:
    model: RegisteredModel
    endpoint: Endpoint
    health: SubjectHealth
    # Every deployment on the endpoint, the model's and its neighbours', newest first.
    deployments: list[Deployment]


def endpoint_hub(*, model: RegisteredModel, endpoint: Endpoint, request: KpiRequest) -> EndpointHub:
    """One model on one endpoint; `request` carries `model=` and `endpoint=`."""
    health = _subject_health(request)
    # Incidents name an endpoint or none (the whole model): this one's and the model's.
    health.incidents = [i for i in health.incidents if i.endpoint_id in (None, endpoint.pk)]
    return EndpointHub(
        model=model,
        endpoint=endpoint,
        health=health,
        deployments=list(
            Deployment.objects.filter(endpoint=endpoint)
            .select_related("model_version__model")
            .order_by("-started_at", "-pk")
        ),
    )


@dataclass(frozen=True)
class SearchResults:
    query: str
    models: list[RegisteredModel]
    datasets: list[Dataset]
    endpoints: list[Endpoint]
    # The models deployed on or served by each endpoint found: its pages are per model.
    endpoint_models: dict[int, list[str]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.models) + len(self.datasets) + len(self.endpoints)


SEARCH_LIMIT = 50


def search(text: str) -> SearchResults:
    """Models, datasets and endpoints whose name contains `text` (any case), those
    whose name starts with it first; at most SEARCH_LIMIT of each."""
    text = text.strip()

    def found(queryset: QuerySet) -> list:
        if not text:
            return []
        rows = list(queryset.filter(name__icontains=text).order_by("name")[: SEARCH_LIMIT * 4])
        rows.sort(key=lambda row: (not row.name.lower().startswith(text.lower()), row.name))
        return rows[:SEARCH_LIMIT]

    endpoints = found(Endpoint.objects.all())
    ids = [e.pk for e in endpoints]
    names: dict[int, set[str]] = {pk: set() for pk in ids}
    pairs = Deployment.objects.filter(endpoint_id__in=ids).values_list(
        "endpoint_id", "model_version__model__name"
    )
    served = (
        LatencyRollup.objects.filter(endpoint_id__in=ids, granularity=RollupGranularity.WEEK)
        .values_list("endpoint_id", "model__name")
        .distinct()
    )
    for endpoint_id, name in [*pairs, *served]:
        names[endpoint_id].add(name)
    return SearchResults(
        query=text,
        models=found(RegisteredModel.objects.select_related("team", "industry")),
        datasets=found(Dataset.objects.select_related("team")),
        endpoints=endpoints,
        endpoint_models={pk: sorted(found_names) for pk, found_names in names.items()},
    )
