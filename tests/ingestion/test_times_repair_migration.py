"""The migration that repairs times stored out of range (PostgreSQL could store them)."""

import importlib
from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps
from django.db import connection

from lifecycle.catalog.models import Deployment, ModelVersion, ServingEvent
from lifecycle.deployment.models import ChangeKind, ChangeSource, LifecycleChange
from tests import factories

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="only PostgreSQL stores such times"
    ),
]
repair = importlib.import_module("ingestion.migrations.0006_repair_times_out_of_range")


def _set(model, pk: int, **columns: str) -> None:
    """Write raw timestamptz text, as an unchecked push did; the ORM cannot."""
    sets = ", ".join(f'"{c}" = %s::timestamptz' for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{model._meta.db_table}" SET {sets} WHERE id = %s', [*columns.values(), pk]
        )


def test_it_repairs_rows_no_page_could_read(fraud_scorer, now, api_as, root):
    version = factories.version_make(fraud_scorer, "1")
    deployment = factories.deployment_make(version)
    change = LifecycleChange.objects.create(
        kind=ChangeKind.REGISTERED,
        source=ChangeSource.PUSH,
        external_id="r-1",
        model=fraud_scorer,
        model_version=version,
        happened_after=now,
        happened_before=now,
        recorded_at=now,
    )
    good, bad = ServingEvent.objects.bulk_create(
        [
            factories.event_build(version, timestamp=now - timedelta(hours=1)),
            factories.event_build(version, timestamp=now - timedelta(hours=1)),
        ]
    )
    _set(ServingEvent, bad.pk, timestamp="0001-01-01T00:00:00+01:00")
    _set(ModelVersion, version.pk, registered_at="9999-12-31T23:59:59-01:00")
    _set(Deployment, deployment.pk, started_at="0001-01-01T00:00:00+01:00")
    _set(
        LifecycleChange,
        change.pk,
        happened_after="0001-01-01T00:00:00+01:00",
        happened_before="0001-01-01T00:00:00+01:00",
    )
    with pytest.raises((ValueError, OverflowError)):  # what every page listing them met
        list(LifecycleChange.objects.all())

    with connection.schema_editor() as editor:
        repair.times_repair(apps, editor)

    assert list(ServingEvent.objects.values_list("pk", flat=True)) == [good.pk]
    version.refresh_from_db()
    deployment.refresh_from_db()
    change.refresh_from_db()
    assert now <= version.registered_at <= datetime.now(UTC)
    assert deployment.started_at == repair.EARLIEST
    assert change.happened_after == change.happened_before == repair.EARLIEST
    assert api_as(root).get("/api/v1/lifecycle-changes/").status_code == 200
