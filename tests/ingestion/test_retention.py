"""Raw-event retention keeps the rollups of pruned days; 5-minute rollups are kept for
their own, shorter retention."""

from datetime import timedelta

import pytest
from django.test import override_settings

from ingestion.retention import events_prune, five_minute_rollups_prune
from ingestion.rollups import rollups_rebuild
from lifecycle.catalog.models import LatencyRollup, RollupGranularity, ServingEvent, ServingRollup
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


def _five_minute_rows() -> list:
    return list(
        LatencyRollup.objects.filter(granularity=RollupGranularity.FIVE_MINUTES)
        .order_by("bucket_start")
        .values_list("bucket_start", "inferences")
    )


def test_five_minute_rollups_are_written_and_kept_for_their_days_only(fraud_v1, now):
    """Default: 3 days. An event a day old gets its 5-minute row, one 5 days old none;
    pruned once it is older than that, its hour and day rows stay."""
    recent, old = now - timedelta(days=1), now - timedelta(days=5)
    ServingEvent.objects.bulk_create(
        [factories.event_build(fraud_v1, timestamp=t) for t in (recent, recent, old)]
    )
    rollups_rebuild()
    bucket = recent.replace(minute=recent.minute - recent.minute % 5, second=0, microsecond=0)
    assert _five_minute_rows() == [(bucket, 2)]
    assert five_minute_rollups_prune(now=now) == 0
    assert five_minute_rollups_prune(now=now + timedelta(days=2, hours=12)) == 1
    assert _five_minute_rows() == []
    assert _rolled_up() == 3


@override_settings(KPIBOARD_FIVE_MINUTE_ROLLUP_DAYS=0)
def test_five_minute_rollups_kept_forever_when_their_days_are_0(fraud_v1, now):
    ServingEvent.objects.bulk_create(
        [factories.event_build(fraud_v1, timestamp=now - timedelta(days=90))]
    )
    rollups_rebuild()
    assert len(_five_minute_rows()) == 1
    assert five_minute_rollups_prune(now=now) == 0
