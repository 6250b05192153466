# KServe halves pair up within a team: the pending table's key gains the team.

import django.db.models.deletion
from django.db import migrations, models


def pending_team_fill(apps, schema_editor):
    """Give each waiting half the team of the model it names; a half whose model is gone
    could never be stored, so it goes (the table holds at most a minute of messages)."""
    pending = apps.get_model("ingestion", "KServePending")
    models_ = apps.get_model("catalog", "RegisteredModel")
    teams = dict(models_.objects.values_list("name", "team_id"))
    for message in pending.objects.all():
        team_id = teams.get(message.inference_service)
        if team_id is None:
            message.delete()
        else:
            pending.objects.filter(pk=message.pk).update(team_id=team_id)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0008_rollup_counts_shared"),
        ("ingestion", "0003_rollup_marks_per_hour"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="kservepending", name="kserve_pending_once"),
        migrations.AddField(
            model_name="kservepending",
            name="team",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="catalog.team",
            ),
        ),
        migrations.RunPython(pending_team_fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="kservepending",
            name="team",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="catalog.team"
            ),
        ),
        migrations.AddConstraint(
            model_name="kservepending",
            constraint=models.UniqueConstraint(
                fields=("team", "ce_id", "kind"), name="kserve_pending_once_per_team"
            ),
        ),
    ]
