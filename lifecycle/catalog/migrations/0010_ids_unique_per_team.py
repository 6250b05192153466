# Written by hand: the team columns, filled from the models' teams, then the unique
# constraints moved from the bare ids to the ids within a team (metrics: within a model).

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def teams_from_models(apps, schema_editor):
    """Every stored event gets its model's team, every label its event's team: two
    set-based UPDATEs with a correlated subquery, whatever the number of rows. A label
    whose event has not arrived keeps no team (nothing says whose it was)."""
    event = apps.get_model("catalog", "ServingEvent")
    label = apps.get_model("catalog", "Label")
    registered = apps.get_model("catalog", "RegisteredModel")
    event.objects.update(
        team_id=Subquery(registered.objects.filter(pk=OuterRef("model_id")).values("team_id")[:1])
    )
    # Runs while event_id is still unique (and indexed alone), so each label finds its
    # one event through that index.
    label.objects.update(
        team_id=Subquery(event.objects.filter(event_id=OuterRef("event_id")).values("team_id")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0009_model_archived_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="servingevent",
            name="team",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="catalog.team",
            ),
        ),
        migrations.AddField(
            model_name="label",
            name="team",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="catalog.team",
            ),
        ),
        migrations.RunPython(teams_from_models, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="servingevent",
            name="team",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="catalog.team",
            ),
        ),
        # The new constraint first, so an id is never without one.
        migrations.AddConstraint(
            model_name="servingevent",
            constraint=models.UniqueConstraint(
                fields=("event_id", "team"), name="event_id_per_team"
            ),
        ),
        migrations.AlterField(
            model_name="servingevent",
            name="event_id",
            field=models.CharField(max_length=200),
        ),
        migrations.AddConstraint(
            model_name="label",
            constraint=models.UniqueConstraint(
                fields=("event_id", "team"), name="label_event_id_per_team"
            ),
        ),
        migrations.AlterField(
            model_name="label",
            name="event_id",
            field=models.CharField(max_length=200),
        ),
        migrations.AddConstraint(
            model_name="lifecyclemetric",
            constraint=models.UniqueConstraint(
                fields=("metric_id", "model"), name="metric_id_per_model"
            ),
        ),
        migrations.AlterField(
            model_name="lifecyclemetric",
            name="metric_id",
            field=models.CharField(max_length=200),
        ),
    ]
