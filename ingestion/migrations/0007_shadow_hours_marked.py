"""Mark stale every hour holding a shadow copy, so that the next rollup refresh moves the
copies into the rollups' new `shadow` rows (before it, every row counts as requests).
What ingestion.shadow_marks does when a shadow deployment is written, for the ones that
exist already; hours whose raw events retention removed keep their rows as they are."""

from __future__ import annotations

from django.db import migrations
from django.db.models.functions import TruncHour


def shadow_hours_mark(apps, schema_editor) -> None:
    Deployment = apps.get_model("catalog", "Deployment")
    ServingEvent = apps.get_model("catalog", "ServingEvent")
    RollupMark = apps.get_model("ingestion", "RollupMark")
    pairs = set()
    shadows = Deployment.objects.filter(role="shadow").values_list(
        "model_version_id", "endpoint_id", "started_at", "ended_at"
    )
    for version_id, endpoint_id, started_at, ended_at in shadows:
        events = ServingEvent.objects.filter(
            model_version_id=version_id, endpoint_id=endpoint_id, timestamp__gte=started_at
        )
        if ended_at is not None:
            events = events.filter(timestamp__lt=ended_at)
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


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0014_rollup_shadow"),
        ("ingestion", "0006_repair_times_out_of_range"),
    ]

    operations = [migrations.RunPython(shadow_hours_mark, migrations.RunPython.noop)]
