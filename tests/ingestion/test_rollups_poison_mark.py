"""One mark whose hour cannot be rolled up must not block the others."""

from datetime import UTC, datetime, timedelta

import pytest

from ingestion.models import RollupMark
from ingestion.rollups import rollups_refresh
from lifecycle.catalog.models import LatencyRollup, ServingEvent, ServingRollup
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def poisoned(fraud_scorer, recommender, now):
    """Good events of two versions an hour ago, and one event stored (before intake
    checked the range) at the calendar's last half hour, each with its mark."""
    fraud, reco = factories.version_make(fraud_scorer, "1"), factories.version_make(recommender)
    hour = now.replace(minute=0) - timedelta(hours=1)
    last = datetime(9999, 12, 31, 23, 30, tzinfo=UTC)
    ServingEvent.objects.bulk_create(
        [
            factories.event_build(fraud, timestamp=hour + timedelta(minutes=5)),
            factories.event_build(fraud, timestamp=last),
            factories.event_build(reco, timestamp=hour + timedelta(minutes=10)),
        ]
    )
    RollupMark.objects.bulk_create(
        [
            RollupMark(model_version=fraud, hour_start=hour),
            RollupMark(model_version=fraud, hour_start=last.replace(minute=0)),
            RollupMark(model_version=reco, hour_start=hour),
        ]
    )
    return fraud, reco, hour


def test_the_good_hours_are_rolled_up_beside_a_poison_mark(poisoned):
    fraud, reco, _ = poisoned
    rollups_refresh()
    for version in (fraud, reco):
        for granularity in ("hour", "day", "week"):
            row = LatencyRollup.objects.get(model_version=version, granularity=granularity)
            assert row.inferences == 1, (version, granularity)
    assert ServingRollup.objects.filter(bucket_start__year=9999).count() == 0


def test_the_poison_mark_is_kept_with_its_error_and_skipped_next_time(poisoned, caplog):
    fraud, _, _ = poisoned
    rollups_refresh()
    mark = RollupMark.objects.get()
    assert mark.model_version == fraud and mark.hour_start.year == 9999
    assert mark.failed_at is not None and "OverflowError" in mark.error
    assert "failed" in caplog.text
    assert rollups_refresh() == 0  # the next run does not trip over it again
