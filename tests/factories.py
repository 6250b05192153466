"""Factories for the tests: plain functions with sensible defaults, named like what they make.

The cast (see conftest): industries "payments" and "ecommerce", teams "risk" and "growth",
models "fraud-scorer" (streaming, payments/risk) and "recommender" (batch, ecommerce/growth).
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.utils import timezone

from lifecycle.catalog.models import (
    Dataset,
    DatasetVersion,
    Deployment,
    DeploymentRole,
    Endpoint,
    EventStatus,
    Industry,
    ModelVersion,
    RegisteredModel,
    Role,
    ServingEvent,
    ServingMode,
    Team,
)

_sequence = itertools.count(1)


def industry_make(name: str = "payments") -> Industry:
    return Industry.objects.get_or_create(name=name)[0]


def team_make(name: str = "risk", business_unit: str = "Finance") -> Team:
    return Team.objects.get_or_create(name=name, defaults={"business_unit": business_unit})[0]


def model_make(
    name: str = "fraud-scorer",
    *,
    team: Team | None = None,
    industry: Industry | None = None,
    serving_mode: str = ServingMode.STREAMING,
    unit_cost_usd: Decimal = Decimal("0.0001"),
    **fields: object,
) -> RegisteredModel:
    return RegisteredModel.objects.create(
        name=name,
        team=team or team_make(),
        industry=industry or industry_make(),
        serving_mode=serving_mode,
        unit_cost_usd=unit_cost_usd,
        **fields,
    )


def version_make(
    model: RegisteredModel, version: str = "1", *, registered_at: datetime | None = None
) -> ModelVersion:
    return ModelVersion.objects.create(
        model=model,
        version=version,
        registered_at=registered_at or timezone.now() - timedelta(days=60),
    )


def endpoint_make(name: str = "scoring", *, team: Team | None = None) -> Endpoint:
    return Endpoint.objects.get_or_create(name=name, defaults={"team": team})[0]


def deployment_make(
    version: ModelVersion,
    *,
    endpoint: Endpoint | None = None,
    role: str = DeploymentRole.PRODUCTION,
    traffic_share: Decimal = Decimal("1"),
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
) -> Deployment:
    return Deployment.objects.create(
        model_version=version,
        endpoint=endpoint or endpoint_make(),
        role=role,
        traffic_share=traffic_share,
        started_at=started_at or timezone.now() - timedelta(days=30),
        ended_at=ended_at,
    )


def shadow_deployment_make(
    version: ModelVersion, *, endpoint: Endpoint, started_at: datetime, ended_at: datetime
) -> Deployment:
    """`version` in the shadow role on `endpoint` over [started_at, ended_at): it answers
    copies of the endpoint's requests and takes no share of them."""
    return deployment_make(
        version,
        endpoint=endpoint,
        role=DeploymentRole.SHADOW,
        traffic_share=Decimal("0"),
        started_at=started_at,
        ended_at=ended_at,
    )


def dataset_make(name: str = "transactions", *, team: Team | None = None) -> Dataset:
    return Dataset.objects.create(name=name, team=team or team_make())


def dataset_version_make(
    dataset: Dataset, version: str = "1", *, created_at: datetime | None = None
) -> DatasetVersion:
    return DatasetVersion.objects.create(
        dataset=dataset, version=version, created_at=created_at or timezone.now()
    )


def event_build(
    version: ModelVersion,
    *,
    timestamp: datetime | None = None,
    latency_ms: float | None = 10.0,
    status: str = EventStatus.OK,
    error_type: str = "",
    caller: str = "",
    endpoint: Endpoint | None = None,
    event_id: str | None = None,
) -> ServingEvent:
    """An unsaved serving event; save many at once with ServingEvent.objects.bulk_create."""
    timestamp = timestamp or timezone.now() - timedelta(minutes=5)
    return ServingEvent(
        event_id=event_id or f"evt-{next(_sequence)}",
        timestamp=timestamp,
        received_at=timestamp,
        model_id=version.model_id,
        team_id=version.model.team_id,
        model_version=version,
        endpoint=endpoint,
        status=status,
        error_type=error_type,
        latency_ms=latency_ms,
        caller=caller,
    )


def user_make(username: str, role: Role | None = None, *, password: str = "pw") -> User:
    user = User.objects.create_user(username=username, password=password)
    if role is not None:
        user.groups.add(Group.objects.get(name=role.label))
        if role in (Role.ADMIN, Role.MLOPS):
            user.is_staff = True
            user.save(update_fields=["is_staff"])
    return user
