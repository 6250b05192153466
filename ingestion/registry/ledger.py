"""Writing what a registry told us: catalog rows, deployments and ledger entries.

Shared by the poll, the webhooks and the registry-events push so that the three sources
mean the same thing by "registered", "promoted" and "deployed".
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q
from django.utils import timezone

from lifecycle.catalog.models import (
    Deployment,
    DeploymentRole,
    Endpoint,
    Industry,
    ModelVersion,
    RegisteredModel,
    ServingMode,
    Team,
)
from lifecycle.deployment.models import LifecycleChange, Registry

# Model tags in the registry that place a new model in the catalog.
TEAM_TAG = "kpiboard.team"
INDUSTRY_TAG = "kpiboard.industry"
SERVING_MODE_TAG = "kpiboard.serving_mode"
TRAFFIC_SHARE_TAG = "kpiboard.traffic_share"


def catalog_model_ensure(*, registry: Registry, name: str, tags: dict[str, str]) -> RegisteredModel:
    """The catalog model of this name, created from the registry's tags or defaults."""
    existing = RegisteredModel.objects.filter(name=name).first()
    if existing is not None:
        return existing
    team = Team.objects.filter(name=tags.get(TEAM_TAG, "")).first() or registry.default_team
    industry = (
        Industry.objects.filter(name=tags.get(INDUSTRY_TAG, "")).first()
        or registry.default_industry
    )
    mode = tags.get(SERVING_MODE_TAG, "")
    if mode not in ServingMode.values:
        mode = registry.default_serving_mode
    return RegisteredModel.objects.create(
        name=name,
        team=team,
        industry=industry,
        serving_mode=mode,
        description=f"First seen in registry {registry.name}.",
    )


def catalog_version_ensure(
    *,
    model: RegisteredModel,
    version: str,
    registered_at: datetime,
    run_id: str = "",
    description: str = "",
) -> ModelVersion:
    """The catalog version, created or brought in line with what the registry says. A
    version seen in serving first is reconciled here: its flag clears and the registry's
    time, run and description replace the stand-ins."""
    row, created = ModelVersion.objects.get_or_create(
        model=model,
        version=version,
        defaults={"registered_at": registered_at, "run_id": run_id, "description": description},
    )
    if not created:
        changed: dict[str, Any] = {}
        if row.seen_in_serving_at is not None:
            changed["seen_in_serving_at"] = None
        if row.registered_at != registered_at:
            changed["registered_at"] = registered_at
        if run_id and row.run_id != run_id:
            changed["run_id"] = run_id
        if description and row.description != description:
            changed["description"] = description
        if changed:
            for name, value in changed.items():
                setattr(row, name, value)
            row.save(update_fields=list(changed))
    return row


def change_record(
    *,
    kind: str,
    source: str,
    model: RegisteredModel,
    happened_after: datetime,
    happened_before: datetime,
    **fields: Any,
) -> LifecycleChange:
    # An interval can only come out reversed through clock skew between kpiboard and the
    # registry; collapsing it keeps the ledger's invariant without inventing precision.
    happened_after = min(happened_after, happened_before)
    return LifecycleChange.objects.create(
        kind=kind,
        source=source,
        model=model,
        happened_after=happened_after,
        happened_before=happened_before,
        recorded_at=timezone.now(),
        **fields,
    )


def traffic_share_for(role: str, tags: dict[str, str] | None = None) -> Decimal:
    raw = (tags or {}).get(TRAFFIC_SHARE_TAG)
    if raw is not None:
        try:
            share = Decimal(raw)
            if 0 <= share <= 1:
                return share
        except InvalidOperation:
            pass
    # Production takes the traffic; shadows see copies (0); a canary's share is unknown
    # without the tag, and 0 claims no traffic it may not have.
    return Decimal("1") if role == DeploymentRole.PRODUCTION else Decimal("0")


def deployment_start(
    *,
    version: ModelVersion,
    endpoint: Endpoint,
    role: str,
    at: datetime,
    traffic_share: Decimal | None = None,
) -> tuple[Deployment, list[Deployment]]:
    """Put `version` in `role` on `endpoint` from `at`: the model's deployment in that
    role which was serving then is ended at `at` (a replacement), and one that starts later
    bounds the new one. Returns the deployment and the ones it replaced; idempotent.
    An endpoint seen in serving first is reconciled here: a registry deploying to it
    vouches for it."""
    if endpoint.seen_in_serving_at is not None:
        endpoint.seen_in_serving_at = None
        endpoint.save(update_fields=["seen_in_serving_at"])
    same_slot = Deployment.objects.filter(
        model_version__model_id=version.model_id, endpoint=endpoint, role=role
    )
    serving = same_slot.filter(started_at__lte=at).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=at)
    )
    existing = serving.filter(model_version=version).first()
    if existing is not None:
        return existing, []
    replaced = []
    for old in serving.filter(started_at__lt=at):
        old.ended_at = at
        old.save(update_fields=["ended_at"])
        replaced.append(old)
    later = same_slot.filter(started_at__gt=at).order_by("started_at").first()
    deployment = Deployment.objects.create(
        model_version=version,
        endpoint=endpoint,
        role=role,
        traffic_share=traffic_share if traffic_share is not None else traffic_share_for(role),
        started_at=at,
        ended_at=later.started_at if later else None,
    )
    return deployment, replaced


def deployment_stop(
    *, version: ModelVersion, endpoint: Endpoint | None, role: str | None, at: datetime
) -> list[Deployment]:
    """End the deployments of `version` serving at `at` (on that endpoint, in that role)."""
    serving = Deployment.objects.filter(model_version=version, started_at__lt=at).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=at)
    )
    if endpoint is not None:
        serving = serving.filter(endpoint=endpoint)
    if role:
        serving = serving.filter(role=role)
    stopped = list(serving)
    for deployment in stopped:
        deployment.ended_at = at
        deployment.save(update_fields=["ended_at"])
    return stopped
