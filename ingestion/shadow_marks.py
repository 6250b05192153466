"""Shadow copies are told apart when the rollups are refreshed (the `shadow` column, from
`Deployment.shadow_of_outer_event`), so a shadow deployment that is created, moved or
ended after its copies were rolled up leaves those hours classified wrongly: they are
marked stale here, and the next refresh classifies them again.

Every write of a deployment passes through the model's save and delete (the API, the
admin, the registry ledger), so the signals below see them all; the demo seeder's bulk
create comes before its rollups are built. Only spans that are or were in the shadow
role can change what is a copy.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models.functions import TruncHour
from django.db.models.signals import post_delete, post_save, pre_save

from ingestion.models import RollupMark
from ingestion.scheduling import rollups_schedule
from lifecycle.catalog.models import Deployment, DeploymentRole, ServingEvent

# (version id, endpoint id, start, end or None): the events a deployment's span holds.
SpanKey = tuple[int, int, datetime, datetime | None]


def _shadow_span(deployment: Deployment) -> SpanKey | None:
    if deployment.role != DeploymentRole.SHADOW:
        return None
    return (
        deployment.model_version_id,
        deployment.endpoint_id,
        deployment.started_at,
        deployment.ended_at,
    )


def shadow_hours_mark(spans: list[SpanKey]) -> int:
    """Mark stale every (version, hour) holding an event of `spans`' versions on their
    endpoints within their spans; returns how many marks were written."""
    pairs: set[tuple[int, datetime]] = set()
    for version_id, endpoint_id, start, end in spans:
        events = ServingEvent.objects.filter(
            model_version_id=version_id, endpoint_id=endpoint_id, timestamp__gte=start
        )
        if end is not None:
            events = events.filter(timestamp__lt=end)
        pairs.update(
            events.order_by()
            .annotate(hour=TruncHour("timestamp"))
            .values_list("model_version_id", "hour")
            .distinct()
        )
    RollupMark.objects.bulk_create(
        [RollupMark(model_version_id=v, hour_start=hour) for v, hour in sorted(pairs)],
        batch_size=500,
    )
    if pairs:
        rollups_schedule()
    return len(pairs)


def _span_before(sender: Any, instance: Deployment, **kwargs: Any) -> None:
    old = Deployment.objects.filter(pk=instance.pk).first() if instance.pk else None
    instance._shadow_span_before = _shadow_span(old) if old is not None else None


def _span_after(sender: Any, instance: Deployment, **kwargs: Any) -> None:
    before = getattr(instance, "_shadow_span_before", None)
    after = _shadow_span(instance)
    if before != after:
        shadow_hours_mark([span for span in (before, after) if span is not None])


def _span_deleted(sender: Any, instance: Deployment, **kwargs: Any) -> None:
    if (span := _shadow_span(instance)) is not None:
        shadow_hours_mark([span])


def shadow_marks_connect() -> None:
    """Connect the deployment signals (the ingestion app's `ready`)."""
    pre_save.connect(_span_before, sender=Deployment, dispatch_uid="shadow_span_before")
    post_save.connect(_span_after, sender=Deployment, dispatch_uid="shadow_span_after")
    post_delete.connect(_span_deleted, sender=Deployment, dispatch_uid="shadow_span_deleted")
