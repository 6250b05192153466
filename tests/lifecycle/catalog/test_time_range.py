"""One accepted range for every time from outside, and the filter bar's start and end."""

from datetime import UTC, datetime, timedelta

import pytest

from lifecycle.catalog.models import RollupGranularity
from lifecycle.catalog.serving.buckets import bucket_floor
from lifecycle.catalog.times import EARLIEST, time_from_unix, time_latest, time_parse
from lifecycle.catalog.windows import time_range_resolve


def test_every_accepted_time_buckets_to_its_hour_day_week_and_the_next(now):
    for moment in (EARLIEST, time_latest(now=now)):
        assert time_parse(moment.isoformat(), now=now) == moment
        hour, day, week = RollupGranularity.HOUR, RollupGranularity.DAY, RollupGranularity.WEEK
        for granularity, step in ((hour, timedelta(hours=1)), (day, timedelta(days=1))):
            assert bucket_floor(moment, granularity=granularity) + step > moment
        assert bucket_floor(moment, granularity=week) + timedelta(days=7) > moment
        next_week = bucket_floor(moment, granularity=week) + timedelta(days=7)
        assert bucket_floor(next_week, granularity=week) > moment
        resolved = time_range_resolve(window=None, start=None, end=moment, now=now)
        assert resolved.start < resolved.end


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0001-01-01T00:00:00+01:00", "outside the years 1 to 9999"),
        ("9999-12-31T23:59:59-01:00", "outside the years 1 to 9999"),
        ("1969-12-31T23:59:59Z", "earliest"),
        ("2026-12-03T10:00:00", "time zone"),
        ("soon", "ISO 8601"),
    ],
)
def test_it_names_why_a_time_is_refused(text, reason):
    assert reason in time_parse(text)


def test_a_day_of_clock_skew_is_accepted_and_more_is_not(now):
    assert time_parse((now + timedelta(hours=23)).isoformat(), now=now) == now + timedelta(hours=23)
    assert "future" in time_parse((now + timedelta(hours=25)).isoformat(), now=now)


def test_a_time_in_another_zone_comes_back_in_utc(now):
    local = now.astimezone(datetime.now().astimezone().tzinfo).isoformat()
    parsed = time_parse(local, now=now)
    assert parsed == now and parsed.tzinfo == UTC


def test_unix_seconds_far_out_of_range_are_refused_without_overflow(now):
    assert "future" in time_from_unix("253402300800", now=now)
    assert "future" in time_from_unix("9" * 5000, now=now)
    assert "earliest" in time_from_unix(-1, now=now)
    assert time_from_unix(int(now.timestamp()), now=now) == now


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        "start=0001-01-01T00:00:00%2B01:00",
        "end=9999-12-31T23:59:59-01:00",
        "end=0001-01-01T00:00:00",
        "start=1969-01-01T00:00:00Z",
    ],
)
@pytest.mark.parametrize(
    "url", ["/api/v1/kpis/portfolio/", "/api/v1/lifecycle-changes/", "/api/v1/deployments/"]
)
def test_a_query_for_a_time_out_of_range_answers_400_naming_it(api_as, alice, url, query):
    response = api_as(alice).get(f"{url}?{query}")
    assert response.status_code == 400, response.content
    assert query.split("=")[0] in response.json()


@pytest.mark.django_db
def test_a_page_asked_for_a_time_out_of_range_still_answers(client, alice):
    client.force_login(alice)
    response = client.get("/?end=9999-12-31T23:59:59-01:00")
    assert response.status_code in (200, 400)


@pytest.mark.django_db
def test_a_query_from_the_filter_bar_without_a_zone_is_utc(api_as, alice, now):
    start = (now - timedelta(days=2)).replace(tzinfo=None).isoformat(timespec="minutes")
    response = api_as(alice).get(f"/api/v1/kpis/portfolio/?start={start}")
    assert response.status_code == 200
    assert response.json()["start"].startswith(start)


def test_a_start_holding_a_percent_sign_is_a_400_naming_it(api_as, root):
    response = api_as(root).get("/api/v1/lifecycle-changes/", {"start": "2y%]"})
    assert response.status_code == 400
    assert "'2y%]'" in response.json()["start"][0]
