"""Raw-event retention keeps the rollups of pruned days."""

from datetime import timedelta

import pytest
from django.test import override_settings

from ingestion.retention import events_prune
from ingestion.rollups import rollups_rebuild
from lifecycle.catalog.models import ServingEvent, ServingRollup
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def old_and_new(fraud_v1, now):
    ServingEvent.objects.bulk_create(
        [factories.event_build(fraud_v1, timestamp=now - timedelta(days=d)) for d in (1, 2, 40, 41)]
    )
    rollups_rebuild()


def _rolled_up() -> int:
    return sum(ServingRollup.objects.filter(granularity="day").values_list("inferences", flat=True))


@override_settings(KPIBOARD_EVENT_RETENTION_DAYS=30)
def test_old_events_are_pruned_and_their_rollups_kept(old_and_new):
    assert events_prune() == 2
    assert ServingEvent.objects.count() == 2
    assert _rolled_up() == 4
    rollups_rebuild()  # a rebuild cannot recompute what was pruned, so it leaves it
    assert _rolled_up() == 4


def test_without_a_retention_nothing_is_pruned(old_and_new):
    assert events_prune() == 0
    assert ServingEvent.objects.count() == 4
