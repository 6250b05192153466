"""Mark every hour with serving events stale, once: uptime's minute bitmaps, the models'
uptime days and weeks and the 5-minute latency rollups are new, and the rollups written
before them hold none. The rollup refresh (a Celery task, or `rebuild_rollups`) then
recomputes those hours from their events; hours whose events are past retention have no
mark and keep what they have (their uptime reads as unknown)."""

from __future__ import annotations

from django.db import migrations
from django.db.models.functions import TruncHour


def hours_mark(apps, schema_editor) -> None:
    ServingEvent = apps.get_model("catalog", "ServingEvent")
    RollupMark = apps.get_model("ingestion", "RollupMark")
    pairs = (
        ServingEvent.objects.order_by()
        .annotate(hour=TruncHour("timestamp"))
        .values_list("model_version_id", "hour")
        .distinct()
        .iterator(chunk_size=5000)
    )
    batch = []
    for version_id, hour in pairs:
        batch.append(RollupMark(model_version_id=version_id, hour_start=hour))
        if len(batch) == 5000:
            RollupMark.objects.bulk_create(batch)
            batch = []
    RollupMark.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [
        ("ingestion", "0007_shadow_hours_marked"),
        ("catalog", "0015_uptime_minutes_and_five_minute_rollups"),
    ]

    operations = [migrations.RunPython(hours_mark, migrations.RunPython.noop)]
