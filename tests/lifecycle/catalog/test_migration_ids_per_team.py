"""The migration that makes ids unique per team, run for real: rows stored under the
schema before it get their teams, and the ids their new constraints."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("catalog", "0009_model_archived_at")]
AFTER = [("catalog", "0010_ids_unique_per_team")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def schema_before(transactional_db):
    """The database at the migration before; migrated forward again afterwards, whatever
    the test did."""
    apps = _migrate(BEFORE)
    yield apps
    _migrate(_migrate_leaves())


def _migrate_leaves():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def test_the_migration_gives_stored_events_and_labels_their_teams(schema_before, now):
    apps = schema_before
    Team = apps.get_model("catalog", "Team")
    Industry = apps.get_model("catalog", "Industry")
    Model = apps.get_model("catalog", "RegisteredModel")
    Version = apps.get_model("catalog", "ModelVersion")
    Event = apps.get_model("catalog", "ServingEvent")
    Label = apps.get_model("catalog", "Label")
    Metric = apps.get_model("catalog", "LifecycleMetric")
    industry = Industry.objects.create(name="payments")
    risk = Team.objects.create(name="risk", business_unit="Finance")
    growth = Team.objects.create(name="growth", business_unit="Marketing")
    versions = {}
    for name, team in (("fraud-scorer", risk), ("recommender", growth)):
        model = Model.objects.create(
            name=name, team=team, industry=industry, serving_mode="streaming"
        )
        versions[name] = Version.objects.create(model=model, version="1", registered_at=now)
    served = now - timedelta(hours=1)
    Event.objects.bulk_create(
        Event(
            event_id=f"{name}-{i}",
            timestamp=served,
            received_at=served,
            model_id=version.model_id,
            model_version=version,
            status="ok",
            latency_ms=10.0,
        )
        for name, version in versions.items()
        for i in range(3)
    )
    Label.objects.bulk_create(
        Label(event_id=event_id, label=1, timestamp=now, received_at=now)
        for event_id in ("fraud-scorer-0", "recommender-2", "not-arrived")
    )
    model = versions["fraud-scorer"].model
    Metric.objects.create(
        metric_id="m-1",
        model=model,
        phase="value",
        name="revenue_usd",
        value=1.0,
        timestamp=now,
        received_at=now,
    )

    apps = _migrate(AFTER)
    Event = apps.get_model("catalog", "ServingEvent")
    Label = apps.get_model("catalog", "Label")
    Metric = apps.get_model("catalog", "LifecycleMetric")
    assert sorted(Event.objects.values_list("event_id", "team__name")) == [
        ("fraud-scorer-0", "risk"),
        ("fraud-scorer-1", "risk"),
        ("fraud-scorer-2", "risk"),
        ("recommender-0", "growth"),
        ("recommender-1", "growth"),
        ("recommender-2", "growth"),
    ]
    assert sorted(Label.objects.values_list("event_id", "team__name")) == [
        ("fraud-scorer-0", "risk"),
        ("not-arrived", None),  # nothing says whose it was
        ("recommender-2", "growth"),
    ]
    # Another team may now use an id; the same team still may not.
    growth_version = apps.get_model("catalog", "ModelVersion").objects.get(
        model__name="recommender"
    )
    fields = {
        "event_id": "fraud-scorer-0",
        "timestamp": served,
        "received_at": served,
        "model_id": growth_version.model_id,
        "model_version_id": growth_version.pk,
        "status": "ok",
        "latency_ms": 1.0,
    }
    Event.objects.create(team_id=growth.pk, **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.create(team_id=growth.pk, **fields)
    other = {"phase": "value", "name": "n", "value": 2.0, "timestamp": now, "received_at": now}
    Metric.objects.create(metric_id="m-1", model_id=growth_version.model_id, **other)
    with pytest.raises(IntegrityError), transaction.atomic():
        Metric.objects.create(metric_id="m-1", model_id=growth_version.model_id, **other)
