"""Repair times stored before intake checked their range (PostgreSQL only).

PostgreSQL stores a timestamptz whose UTC value leaves years 1-9999 (say
`0001-01-01T00:00:00+01:00`), but nothing can read it back: every page and API listing
the row answered 500, and the ORM could not even delete it. SQLite never stored one (the
conversion to UTC failed before the write). Rows outside today's accepted range
(lifecycle.catalog.times: from 1970-01-01 UTC to a day after now) are repaired:

- facts with no meaning at such a time (serving events, labels, lifecycle metrics,
  rollup marks, KServe halves waiting for their pair) are deleted;
- the catalog and the ledger (a version's registration, a deployment's start and end, a
  lifecycle change's interval) describe things that exist, and deleting them would
  cascade into their serving events: their time is clamped to the nearest end of the
  range (1970-01-01, or the moment this migration ran), where an admin can correct it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.db import migrations

logger = logging.getLogger(__name__)

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
DELETED = [
    ("catalog", "ServingEvent", "timestamp"),
    ("catalog", "Label", "timestamp"),
    ("catalog", "LifecycleMetric", "timestamp"),
    ("ingestion", "RollupMark", "hour_start"),
    ("ingestion", "KServePending", "event_time"),
]
# Per table, its time columns: each is clamped to [1970-01-01, now], and the constraints
# between them kept (a deployment ends after it starts; a change's interval is ordered).
CLAMPED = [
    ("catalog", "ModelVersion", {"registered_at": "{clamp(registered_at)}"}),
    (
        "catalog",
        "Deployment",
        {
            "started_at": "{clamp(started_at)}",
            "ended_at": "CASE WHEN ended_at IS NULL THEN NULL ELSE "
            "GREATEST({clamp(ended_at)}, {clamp(started_at)} + interval '1 second') END",
        },
    ),
    (
        "deployment",
        "LifecycleChange",
        {
            "happened_after": "{clamp(happened_after)}",
            "happened_before": "GREATEST({clamp(happened_before)}, {clamp(happened_after)})",
        },
    ),
]


def times_repair(apps, schema_editor) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    now = datetime.now(UTC)
    latest = now + timedelta(days=1)

    def where(app: str, model: str, field: str) -> tuple[str, str]:
        meta = apps.get_model(app, model)._meta
        return meta.db_table, meta.get_field(field).column

    with connection.cursor() as cursor:
        for app, model, field in DELETED:
            table, column = where(app, model, field)
            cursor.execute(
                f'DELETE FROM "{table}" WHERE "{column}" < %s OR "{column}" > %s',
                [EARLIEST, latest],
            )
            if cursor.rowcount:
                logger.warning("deleted %s %s rows out of range", cursor.rowcount, model)
        for app, model, columns in CLAMPED:
            meta = apps.get_model(app, model)._meta
            names = {field: meta.get_field(field).column for field in columns}
            sets = []
            for field, expression in columns.items():
                for other, column in names.items():
                    expression = expression.replace(
                        f"{{clamp({other})}}", f'LEAST(GREATEST("{column}", %(lo)s), %(now)s)'
                    )
                sets.append(f'"{names[field]}" = {expression}')
            outside = " OR ".join(f'"{c}" < %(lo)s OR "{c}" > %(hi)s' for c in names.values())
            cursor.execute(
                f'UPDATE "{meta.db_table}" SET {", ".join(sets)} WHERE {outside}',
                {"lo": EARLIEST, "now": now, "hi": latest},
            )
            if cursor.rowcount:
                logger.warning("clamped the times of %s %s rows", cursor.rowcount, model)


class Migration(migrations.Migration):
    dependencies = [
        ("ingestion", "0005_rollup_mark_failures"),
        ("catalog", "0010_ids_unique_per_team"),
        ("deployment", "0001_initial"),
    ]

    operations = [migrations.RunPython(times_repair, migrations.RunPython.noop)]
