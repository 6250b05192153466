"""Celery tasks of the registry sync: thin wrappers, safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from ingestion.registry.sync import registries_due, registry_sync


@shared_task(name="ingestion.registry.tasks.registries_poll_due")
def registries_poll_due() -> int:
    """Queue one poll per registry that is due; each runs (and fails) on its own."""
    due = registries_due(now=timezone.now())
    for registry_id in due:
        registry_poll.delay(registry_id)
    return len(due)


@shared_task(name="ingestion.registry.tasks.registry_poll")
def registry_poll(registry_id: int) -> dict[str, object]:
    return registry_sync(registry_id=registry_id).as_dict()
