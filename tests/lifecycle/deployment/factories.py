"""Factories for the deployment phase: registries and ledger entries."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from lifecycle.catalog.models import ModelVersion
from lifecycle.deployment.models import ChangeSource, LifecycleChange, Registry
from tests import factories


def registry_make(
    name: str = "mlflow-main", *, base_url: str = "http://127.0.0.1:5140", **fields: object
) -> Registry:
    fields.setdefault("default_team", factories.team_make())
    fields.setdefault("default_industry", factories.industry_make())
    return Registry.objects.create(name=name, base_url=base_url, **fields)


def change_make(
    version: ModelVersion,
    kind: str,
    *,
    happened_before: datetime | None = None,
    happened_after: datetime | None = None,
    source: str = ChangeSource.PUSH,
    **fields: object,
) -> LifecycleChange:
    happened_before = happened_before or timezone.now()
    return LifecycleChange.objects.create(
        kind=kind,
        source=source,
        model=version.model,
        model_version=version,
        happened_after=happened_after or happened_before,
        happened_before=happened_before,
        recorded_at=timezone.now(),
        **fields,
    )
