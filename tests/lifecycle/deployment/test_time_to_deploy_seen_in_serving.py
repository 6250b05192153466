"""A version seen in serving before any registry has no registration time: time to deploy
leaves it out until the registry brings it, then counts it from the registry's time."""

from datetime import timedelta

import pytest

from ingestion.events import events_ingest
from ingestion.registry.ledger import catalog_version_ensure
from lifecycle.catalog.kpis import kpi_request_build, kpi_values
from tests import factories

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def _push(version: str, at) -> None:
    row = {
        "event_id": f"e-{version}",
        "timestamp": at.isoformat(),
        "model": "fraud-scorer",
        "version": version,
        "latency_ms": 10.0,
        "status": "ok",
    }
    events_ingest(rows=[row], principal=None, source="test")


def _days(now) -> tuple[float | None, float | None]:
    request = kpi_request_build(query={"window": "30d"}, now=now)
    median, mean = kpi_values(["time_to_deploy_days_median", "time_to_deploy_days_mean"], request)
    return median.value, mean.value


def test_time_to_deploy_counts_a_serving_only_version_once_the_registry_brings_it(
    fraud_scorer, now
):
    registered_v1, served_v1 = now - 12 * DAY, now - 9 * DAY
    factories.version_make(fraud_scorer, "1", registered_at=registered_v1)
    _push("1", served_v1)
    served_v2 = now - 2 * DAY
    _push("2", served_v2)  # v2 is registered from serving, at its first traffic
    v1_days = (served_v1 - registered_v1) / DAY
    assert _days(now) == pytest.approx((v1_days, v1_days))

    registered_v2 = now - 6 * DAY
    catalog_version_ensure(model=fraud_scorer, version="2", registered_at=registered_v2)
    both = [v1_days, (served_v2 - registered_v2) / DAY]
    median, mean = _days(now)
    assert median == pytest.approx(sum(both) / 2)  # the median of two is their mean
    assert mean == pytest.approx(sum(both) / 2)
