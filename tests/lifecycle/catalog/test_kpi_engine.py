"""The KPI engine answers any registered KPI for a request, with the numbers the KPI
endpoints answer for the same query."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.urls import reverse

from ingestion.rollups import rollups_rebuild
from lifecycle.catalog.filtersets import ServingEventFilterSet
from lifecycle.catalog.kpis import (
    KPI_DEFINITIONS,
    KpiRequestError,
    kpi_compute,
    kpi_request_build,
    kpi_series,
    kpi_values,
)
from lifecycle.catalog.models import ServingEvent
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def scope(fraud_scorer, recommender, now):
    """fraud-scorer in production with 40 events in the last 40 hours (4 errors) and 6
    events 8 days ago; recommender with 10 recent events from two callers; one dataset."""
    fraud_v1 = factories.version_make(fraud_scorer, registered_at=now - timedelta(days=45))
    reco_v1 = factories.version_make(recommender, registered_at=now - timedelta(days=95))
    factories.deployment_make(fraud_v1, started_at=now - timedelta(days=40))
    factories.deployment_make(
        reco_v1,
        endpoint=factories.endpoint_make("batch-jobs"),
        started_at=now - timedelta(days=90),
        ended_at=now - timedelta(days=60),
    )
    events = [
        factories.event_build(
            fraud_v1,
            timestamp=now - timedelta(hours=i + 1),
            latency_ms=float(10 + i),
            status="error" if i % 10 == 0 else "ok",
            error_type="dependency" if i % 10 == 0 else "",
        )
        for i in range(40)
    ]
    events += [
        factories.event_build(fraud_v1, timestamp=now - timedelta(days=8, hours=i))
        for i in range(6)
    ]
    events += [
        factories.event_build(
            reco_v1,
            timestamp=now - timedelta(hours=i + 1),
            latency_ms=float(100 + i),
            caller="checkout" if i % 2 else "search",
        )
        for i in range(10)
    ]
    ServingEvent.objects.bulk_create(events)
    rollups_rebuild()
    factories.dataset_version_make(factories.dataset_make(), created_at=now - timedelta(days=3))


def _end(body: dict) -> datetime:
    return datetime.fromisoformat(body["end"].replace("Z", "+00:00"))


def _same(engine_value, api_value) -> bool:
    if api_value is None or engine_value is None:
        return engine_value is api_value
    return engine_value == pytest.approx(api_value, rel=1e-9)


def test_it_answers_every_registered_kpi(scope, now):
    request = kpi_request_build(query={"window": "7d"}, now=now)
    for kpi_id, definition in KPI_DEFINITIONS.items():
        value = kpi_compute(kpi_id, request)
        assert value.definition is definition
    assert kpi_compute("inferences", request).value == 50
    assert kpi_compute("unique_callers", request).value == 2
    assert kpi_compute("models_in_production", request).value == 1
    assert kpi_compute("dataset_upload_age_days", request).value == pytest.approx(3, abs=0.01)
    assert kpi_compute("errors_by_failure_class", request).parts == {"dependency": 4}


@pytest.mark.parametrize("query", [{"window": "7d"}, {"window": "24h", "industry": "payments"}])
def test_it_gives_the_numbers_of_the_portfolio_api(scope, api_as, alice, query):
    body = api_as(alice).get(reverse("kpis-portfolio"), query).json()
    request = kpi_request_build(query=query, now=_end(body))
    for kpi in body["kpis"]:
        assert _same(kpi_compute(kpi["id"], request).value, kpi["value"]), kpi["id"]


def test_it_gives_the_numbers_of_the_model_api(scope, api_as, alice):
    body = api_as(alice).get(reverse("kpis-model", args=["fraud-scorer"]), {"window": "7d"})
    body = body.json()
    request = kpi_request_build(query={"window": "7d", "model": "fraud-scorer"}, now=_end(body))
    for kpi in body["kpis"]:
        assert _same(kpi_compute(kpi["id"], request).value, kpi["value"]), kpi["id"]


def test_it_gives_the_numbers_of_the_deployment_api(scope, api_as, alice):
    body = api_as(alice).get(reverse("kpis-deployment"), {"window": "90d"}).json()
    request = kpi_request_build(query={"window": "90d"}, now=_end(body))
    assert body["kpis"]
    for kpi in body["kpis"]:
        assert _same(kpi_compute(kpi["id"], request).value, kpi["value"]), kpi["id"]


def test_it_calls_each_provider_once_per_request(scope, now, django_assert_num_queries):
    request = kpi_request_build(query={"window": "7d"}, now=now)
    kpi_compute("inferences", request)
    with django_assert_num_queries(0):
        assert kpi_compute("error_rate", request).value == pytest.approx(4 / 50)
        kpi_compute("latency_p95_ms", request)


def test_it_refuses_a_window_it_does_not_know_naming_the_field(db, now):
    with pytest.raises(KpiRequestError) as refused:
        kpi_request_build(query={"window": "2y"}, now=now)
    assert list(refused.value.errors) == ["window"]


def test_a_named_window_ends_at_the_requests_now_not_the_clock(db, now):
    then = now - timedelta(days=10)
    request = kpi_request_build(query={"window": "24h"}, now=then)
    assert request.time_range.end == then
    filters = ServingEventFilterSet(
        {"window": "24h"}, queryset=ServingEvent.objects.all(), now=then
    )
    assert filters.time_range == request.time_range


def test_the_previous_period_has_the_same_length_and_ends_where_this_one_starts(scope, now):
    request = kpi_request_build(query={"window": "7d", "model": "fraud-scorer"}, now=now)
    before = request.previous()
    assert before.time_range.end == request.time_range.start
    assert before.time_range.duration == request.time_range.duration
    [inferences] = kpi_values(["inferences"], request, with_previous=True)
    assert inferences.value == 40
    assert inferences.previous.value == 6
    assert inferences.as_dict()["previous"] == 6
    assert "previous" not in kpi_values(["inferences"], request)[0].as_dict()


def test_a_series_from_the_rollups_equals_one_request_per_bucket(scope, now):
    request = kpi_request_build(query={"window": "24h"}, now=now)
    fast = kpi_series("inferences", request, "hour")
    assert sum(v or 0 for _, v in fast) == kpi_compute("inferences", request).value
    by_bucket = {start: v for start, v in fast}
    # "calls" has no series of its own: the engine computes each bucket as a request.
    slow = kpi_series("calls", request, "hour")
    assert [start for start, _ in slow] == [start for start, _ in fast]
    assert all((by_bucket[start] or 0) == value for start, value in slow)


def test_a_weekly_series_is_computed_bucket_by_bucket(scope, now):
    request = kpi_request_build(query={"window": "30d"}, now=now)
    weeks = kpi_series("inferences", request, "week")
    assert sum(v for _, v in weeks) == kpi_compute("inferences", request).value == 56
    assert weeks[0][0] <= request.time_range.start < weeks[1][0]


def test_every_kpi_endpoint_answers_units_of_the_vocabulary(scope, api_as, alice):
    client = api_as(alice)
    answers = [
        client.get(reverse("kpis-portfolio"), {"window": "7d"}).json()["kpis"],
        client.get(reverse("kpis-model", args=["fraud-scorer"]), {"window": "7d"}).json()["kpis"],
        client.get(reverse("kpis-deployment"), {"window": "7d"}).json()["kpis"],
    ]
    units = {kpi["id"]: kpi["unit"] for kpis in answers for kpi in kpis}
    assert units["label_delay_p50_hours"] == "hours"
    assert units["time_to_restore_hours_median"] == "hours"
    assert units["error_rate"] == "fraction"
    assert all(unit == KPI_DEFINITIONS[kpi_id].unit.value for kpi_id, unit in units.items())


def test_the_kpi_api_gives_the_previous_period_when_asked(scope, api_as, alice):
    client = api_as(alice)
    url = reverse("kpis-model", args=["fraud-scorer"])
    asked = {
        k["id"]: k for k in client.get(url, {"window": "7d", "previous": "true"}).json()["kpis"]
    }
    assert asked["inferences"]["value"] == 40 and asked["inferences"]["previous"] == 6
    portfolio = client.get(reverse("kpis-portfolio"), {"window": "7d", "previous": "1"}).json()
    assert {k["id"]: k["previous"] for k in portfolio["kpis"]}["inferences"] == 6
    plain = client.get(url, {"window": "7d"}).json()["kpis"]
    assert all("previous" not in k for k in plain)


def test_a_series_over_a_range_cut_mid_hour_counts_only_the_ranges_part(scope, now):
    start, end = now - timedelta(hours=5, minutes=45), now - timedelta(minutes=15)
    request = kpi_request_build(query={"start": start, "end": end}, now=now)
    fast = kpi_series("inferences", request, "hour")
    slow = kpi_series("calls", request, "hour")
    assert [v or 0 for _, v in fast] == [v for _, v in slow]
    in_range = ServingEvent.objects.filter(timestamp__gte=start, timestamp__lt=end).count()
    assert sum(v for _, v in slow) == in_range == kpi_compute("inferences", request).value
