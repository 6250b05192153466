"""Pushes of events, labels and metrics: inputs json.loads or the database would turn
into a 500 answer 400 naming the field, and nothing of the batch is stored."""

import json
from datetime import timedelta

import pytest
from django.test import Client

from ingestion.models import RollupMark
from lifecycle.catalog.models import Label, LifecycleMetric, Role, ServingEvent
from tests import factories

pytestmark = pytest.mark.django_db
EVENTS, LABELS, METRICS = "/api/v1/events/", "/api/v1/labels/", "/api/v1/metrics/"


@pytest.fixture
def at(now):
    """A time an hour ago, as a push sends it."""
    return (now - timedelta(hours=1)).isoformat()


@pytest.fixture
def push(fraud_v1, risk_team, token_client):
    """push(url, raw JSON text) -> the response to it, from a token of the model's team."""
    client = token_client(risk_team)

    def send(url: str, body: str, content_type: str = "application/json"):
        return client.generic("POST", url, body.encode("utf-8"), content_type=content_type)

    return send


def _event(at, **overrides) -> dict:
    return {
        "event_id": "e-1",
        "timestamp": at,
        "model": "fraud-scorer",
        "version": "1",
        "latency_ms": 12.0,
        "status": "ok",
        **overrides,
    }


def _errors(response) -> set[tuple]:
    return {(e["index"], e["field"]) for e in response.json()["errors"]}


def _nothing_stored() -> bool:
    return not (
        ServingEvent.objects.exists()
        or Label.objects.exists()
        or LifecycleMetric.objects.exists()
        or RollupMark.objects.exists()
    )


@pytest.mark.parametrize(
    "stamp",
    [
        "0001-01-01T00:00:00+01:00",  # UTC value in year 0
        "9999-12-31T23:59:59-01:00",  # UTC value in year 10000
        "9999-12-31T23:30:00Z",  # representable, but its next week is not
        "1969-12-31T23:59:59Z",
    ],
)
def test_it_refuses_an_event_time_out_of_range(push, at, stamp):
    body = json.dumps([_event(at, event_id="e-0"), _event(at, timestamp=stamp)])
    response = push(EVENTS, body)
    assert response.status_code == 400
    assert _errors(response) == {(1, "timestamp")}
    assert _nothing_stored()


def test_it_refuses_an_event_more_than_a_day_ahead_and_takes_one_an_hour_ahead(push, now):
    ahead = push(EVENTS, json.dumps([_event((now + timedelta(days=2)).isoformat())]))
    assert ahead.status_code == 400 and "future" in ahead.json()["errors"][0]["reason"]
    skewed = push(EVENTS, json.dumps([_event((now + timedelta(hours=1)).isoformat())]))
    assert skewed.status_code == 202


@pytest.mark.parametrize(
    ("url", "row"),
    [
        (LABELS, {"event_id": "e-1", "label": 1, "timestamp": "0001-01-01T00:00:00+01:00"}),
        (
            METRICS,
            {
                "model": "fraud-scorer",
                "phase": "monitoring",
                "name": "auc",
                "value": 0.9,
                "timestamp": "9999-12-31T23:59:59-01:00",
            },
        ),
    ],
)
def test_it_refuses_a_label_or_metric_time_out_of_range(push, url, row):
    response = push(url, json.dumps([row]))
    assert response.status_code == 400 and _errors(response) == {(0, "timestamp")}
    assert _nothing_stored()


@pytest.mark.parametrize(
    ("fragment", "field"),
    [
        ('"latency_ms": NaN', "latency_ms"),
        ('"latency_ms": Infinity', "latency_ms"),
        ('"latency_ms": 1e400', "latency_ms"),
        ('"latency_ms": 1' + "0" * 400, "latency_ms"),
        ('"latency_ms": 1' + "0" * 5000, "latency_ms"),  # past int()'s 4,300 digits
        ('"features": {"x": -Infinity}', "features"),
        ('"caller": "\\ud800"', "caller"),
        ('"caller": "a\\u0000b"', "caller"),
        ('"features": {"\\udfff": 1}', "features"),
        ('"features": {"x": "\\u0000"}', "features"),
    ],
)
def test_it_refuses_numbers_and_strings_the_database_cannot_take(push, at, fragment, field):
    good = json.dumps(_event(at, event_id="e-0"))
    row = json.dumps({k: v for k, v in _event(at).items() if k != field})
    bad = row[:-1] + ", " + fragment + "}"  # the raw fragment, as a client could send it
    response = push(EVENTS, f"[{good}, {bad}]")
    assert response.status_code == 400, response.content
    assert _errors(response) == {(1, field)}
    assert _nothing_stored()


def test_it_refuses_a_cost_its_column_cannot_hold(push, at):
    response = push(EVENTS, json.dumps([_event(at, cost_usd=1e10)]))
    assert response.status_code == 400 and _errors(response) == {(0, "cost_usd")}
    assert "limit" in response.json()["errors"][0]["reason"]
    assert _nothing_stored()


def test_it_takes_the_largest_cost_its_column_holds(push, at):
    response = push(EVENTS, json.dumps([_event(at, cost_usd=999999.5)]))
    assert response.status_code == 202


def test_it_refuses_json_nested_past_the_recursion_limit(push):
    response = push(EVENTS, "[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["errors"][0]["reason"]


def test_it_names_the_ndjson_line_nested_too_deeply(push, at):
    body = json.dumps(_event(at)) + "\n" + "[" * 100_000 + "]" * 100_000 + "\n"
    response = push(EVENTS, body, content_type="application/x-ndjson")
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["index"] == 1 and error["reason"].startswith("line 2: nested too deeply")
    assert _nothing_stored()


@pytest.mark.parametrize(
    ("label", "field"),
    [("NaN", "label"), ("[1, Infinity]", "label"), ('{"a": "\\ud800"}', "label")],
)
def test_it_refuses_a_label_holding_nan_infinity_or_a_lone_surrogate(push, at, label, field):
    body = f'[{{"event_id": "e-1", "label": {label}, "timestamp": "{at}"}}]'
    response = push(LABELS, body)
    assert response.status_code == 400 and _errors(response) == {(0, field)}
    assert _nothing_stored()


def test_it_refuses_a_label_nested_deeper_than_a_label_is(push, at):
    label = "[" * 40 + "1" + "]" * 40
    response = push(LABELS, f'[{{"event_id": "e-1", "label": {label}, "timestamp": "{at}"}}]')
    assert response.status_code == 400 and _errors(response) == {(0, "label")}


@pytest.mark.parametrize(
    "dimensions",
    ['{"run_id": NaN}', '{"run_id": 1e999}', '{"run_id": "\\udc00"}', '{"run": {"id": 1}}'],
)
def test_it_refuses_metric_dimensions_that_are_not_flat_finite_text(push, at, dimensions):
    body = (
        '[{"model": "fraud-scorer", "phase": "development", "name": "auc", "value": 0.9, '
        f'"timestamp": "{at}", "dimensions": {dimensions}}}]'
    )
    response = push(METRICS, body)
    assert response.status_code == 400 and _errors(response) == {(0, "dimensions")}
    assert _nothing_stored()


def test_it_refuses_a_list_where_a_name_goes(push, at):
    response = push(EVENTS, json.dumps([_event(at, model=["fraud-scorer"], error_type=[1])]))
    assert response.status_code == 400 and (0, "model") in _errors(response)
    metric = {"model": "fraud-scorer", "phase": ["x"], "name": "n", "value": 1, "timestamp": at}
    assert push(METRICS, json.dumps([metric])).status_code == 400


@pytest.mark.parametrize("url", [EVENTS, LABELS, METRICS, "/api/v1/registry-events/"])
def test_it_answers_411_to_a_chunked_body_rather_than_reading_it_as_empty(
    fraud_v1, risk_team, token_client, at, url
):
    # What a WSGI server hands Django for `Transfer-Encoding: chunked`: no Content-Length,
    # and a body Django reads as empty.
    response = token_client(risk_team).generic(
        "POST",
        url,
        json.dumps([_event(at)]).encode(),
        content_type="application/json",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
    )
    assert response.status_code == 411
    assert "Content-Length" in response.json()["detail"]
    assert _nothing_stored()


def test_it_refuses_an_empty_body(push):
    response = push(EVENTS, "", content_type="application/x-ndjson")
    assert response.status_code == 400 and "empty" in response.json()["errors"][0]["reason"]


def test_a_logged_in_user_pushes_json_with_the_csrf_token_as_a_browser_sends_it(fraud_v1, at):
    user = factories.user_make("bob", Role.MLOPS)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    browser.get("/accounts/login/")  # any page that sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    body = json.dumps([_event(at)])
    response = browser.post(EVENTS, body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 202, response.content
    assert ServingEvent.objects.count() == 1


def test_a_logged_in_user_without_the_csrf_token_is_refused(fraud_v1, at):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(factories.user_make("bob", Role.MLOPS))
    response = browser.post(EVENTS, json.dumps([_event(at)]), content_type="application/json")
    assert response.status_code == 403
    assert _nothing_stored()
