"""Writing the planned catalog: industries, teams, endpoints, datasets (the newest
versions uploaded and profiled), models, versions, their lineage, deployments, incidents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from demo.datasets import PROFILED_VERSIONS, dataset_versions_upload
from demo.plan import Plan
from demo.specs import DATASETS, ENDPOINTS, INDUSTRIES, MODELS, TEAMS
from lifecycle.catalog.models import (
    Dataset,
    DatasetVersion,
    Deployment,
    Endpoint,
    Industry,
    ModelVersion,
    RegisteredModel,
    Team,
)
from lifecycle.monitoring.models import Incident


@dataclass(frozen=True)
class CatalogRows:
    teams: dict[str, Team]
    industries: dict[str, Industry]
    models: dict[str, RegisteredModel]
    endpoints: dict[str, Endpoint]
    versions: list[ModelVersion]  # parallel to plan.versions
    deployments: list[Deployment]  # parallel to plan.deployments
    dataset_versions: dict[str, list[DatasetVersion]]  # oldest first
    profiles: int


def catalog_write(plan: Plan, progress: Callable[[str], None], *, dataset_rows: int) -> CatalogRows:
    industries = {
        name: Industry.objects.get_or_create(name=name, defaults={"description": text})[0]
        for name, text in INDUSTRIES
    }
    teams = {
        name: Team.objects.get_or_create(
            name=name, defaults={"business_unit": unit, "description": text}
        )[0]
        for name, unit, text in TEAMS
    }
    endpoints = {
        spec.name: Endpoint.objects.get_or_create(
            name=spec.name,
            defaults={
                "team": teams[spec.team],
                "url": f"https://serving.example.com/{spec.name}/invocations",
                "description": spec.description,
            },
        )[0]
        for spec in ENDPOINTS
    }
    dataset_versions: dict[str, list[DatasetVersion]] = {}
    profiles = 0
    for spec in DATASETS:
        created = plan.dataset_versions[spec.name]
        dataset = Dataset.objects.create(
            name=spec.name, team=teams[spec.team], source=spec.source, description=spec.description
        )
        # created_at is auto_now_add; the demo's own history says when the data started.
        Dataset.objects.filter(pk=dataset.pk).update(created_at=created[0])
        # The newest versions arrive as uploaded files, profiled by the real profiler.
        plain = created[:-PROFILED_VERSIONS]
        dataset_versions[spec.name] = DatasetVersion.objects.bulk_create(
            DatasetVersion(dataset=dataset, version=str(n), created_at=at)
            for n, at in enumerate(plain, start=1)
        ) + dataset_versions_upload(
            spec,
            created=created[len(plain) :],
            first_number=len(plain) + 1,
            seed=plan.seed,
            rows=dataset_rows,
        )
        profiles += len(created) - len(plain)

    models = {
        spec.name: RegisteredModel.objects.create(
            name=spec.name,
            description=spec.description,
            team=teams[spec.team],
            industry=industries[spec.industry],
            serving_mode=spec.mode,
            unit_cost_usd=Decimal(spec.unit_cost_usd),
            sla_latency_p95_ms=spec.sla[0],
            sla_error_rate=spec.sla[1],
            sla_uptime=spec.sla[2],
        )
        for spec in MODELS
    }
    versions = ModelVersion.objects.bulk_create(
        ModelVersion(
            model=models[v.model.name],
            version=v.name,
            registered_at=v.registered_at,
            run_id=v.run_id,
            description=v.description,
        )
        for v in plan.versions
    )
    for spec in MODELS:
        first = min(v.registered_at for v in plan.versions if v.model is spec)
        RegisteredModel.objects.filter(name=spec.name).update(created_at=first)

    # Each version was trained on the newest version of its datasets at the time.
    through = ModelVersion.datasets.through
    links = []
    for planned, version in zip(plan.versions, versions, strict=True):
        for name in planned.model.datasets:
            older = [dv for dv in dataset_versions[name] if dv.created_at < planned.registered_at]
            if older:
                links.append(through(modelversion_id=version.pk, datasetversion_id=older[-1].pk))
    through.objects.bulk_create(links)

    version_row = {id(v): row for v, row in zip(plan.versions, versions, strict=True)}
    deployments = Deployment.objects.bulk_create(
        Deployment(
            model_version=version_row[id(d.version)],
            endpoint=endpoints[d.version.model.endpoint],
            role=d.role,
            traffic_share=Decimal(f"{d.share:.4f}"),
            started_at=d.start,
            ended_at=d.end,
        )
        for d in plan.deployments
    )
    progress(
        f"catalog: {len(industries)} industries, {len(teams)} teams, {len(models)} models "
        f"with {len(versions)} versions, {len(deployments)} deployments on "
        f"{len(endpoints)} endpoints, {len(DATASETS)} datasets ({profiles} versions profiled)"
    )
    return CatalogRows(
        teams, industries, models, endpoints, versions, deployments, dataset_versions, profiles
    )


def incidents_write(plan: Plan, rows: CatalogRows) -> None:
    by_name = {m.name: m for m in MODELS}
    Incident.objects.bulk_create(
        Incident(
            model=rows.models[i.spec.model],
            endpoint=rows.endpoints[by_name[i.spec.model].endpoint],
            failure_class=i.spec.failure_class,
            title=i.title,
            description=i.description,
            started_at=i.start,
            ended_at=i.end,
        )
        for i in plan.incidents
    )
