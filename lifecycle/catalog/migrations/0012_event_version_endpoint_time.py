from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """On PostgreSQL the index is built without blocking event pushes (minutes on tens of
    millions of events); elsewhere (SQLite) it is a plain CREATE INDEX."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_forwards(
                self, app_label, schema_editor, from_state, to_state
            )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_backwards(
                self, app_label, schema_editor, from_state, to_state
            )


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run in a transaction.
    atomic = False

    dependencies = [
        ("catalog", "0011_pushed_by"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="servingevent",
            index=models.Index(
                fields=["model_version", "endpoint", "timestamp"],
                name="event_version_endpoint_time",
            ),
        ),
    ]
