"""POST /api/v1/events/: formats, exactly once, all or nothing, sizes and types, scope."""

import json
from datetime import timedelta, timezone
from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse

from ingestion.models import RollupMark
from lifecycle.catalog.models import Role, ServingEvent, ServingRollup

pytestmark = pytest.mark.django_db
URL = "/api/v1/events/"


def test_the_route_is_named():
    assert reverse("events-push") == URL


def test_it_accepts_a_json_list_and_answers_202_with_counts(
    fraud_v1, risk_team, token_client, event
):
    response = token_client(risk_team).post(URL, [event(1), event(2)], format="json")
    assert response.status_code == 202
    assert response.json() == {"accepted": 2, "repeats": 0}
    assert ServingEvent.objects.count() == 2


def test_it_accepts_an_events_object(fraud_v1, risk_team, token_client, event):
    response = token_client(risk_team).post(URL, {"events": [event(1)]}, format="json")
    assert response.json() == {"accepted": 1, "repeats": 0}


def test_it_accepts_ndjson(fraud_v1, risk_team, token_client, event):
    body = "\n".join(json.dumps(event(i)) for i in range(3)) + "\n\n"
    response = token_client(risk_team).post(URL, body, content_type="application/x-ndjson")
    assert response.status_code == 202 and response.json()["accepted"] == 3


def test_it_counts_a_repeated_event_once(fraud_v1, risk_team, token_client, event):
    client = token_client(risk_team)
    client.post(URL, [event(1), event(2)], format="json")
    response = client.post(URL, [event(2), event(3), event(3)], format="json")
    assert response.json() == {"accepted": 1, "repeats": 2}
    assert ServingEvent.objects.count() == 3


def test_one_bad_item_rejects_the_batch_with_index_field_and_reason(
    fraud_v1, risk_team, token_client, event
):
    bad = [event(1), event(2, latency_ms=-1), event(3, status="error"), event(4, model="nope")]
    response = token_client(risk_team).post(URL, bad, format="json")
    assert response.status_code == 400
    errors = {(e["index"], e["field"]) for e in response.json()["errors"]}
    assert errors == {(1, "latency_ms"), (2, "error_type"), (3, "model")}
    assert all(e["reason"] for e in response.json()["errors"])
    assert ServingEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"event_id": None}, "event_id"),
        # Refused by the parser before any clock is read: a fixed date may stay.
        ({"timestamp": "2026-11-20T12:00:00"}, "timestamp"),
        ({"timestamp": "yesterday"}, "timestamp"),
        # An unknown version or endpoint is registered by default (test_unseen_names.py).
        ({"version": "a/b"}, "version"),
        ({"endpoint": " nowhere"}, "endpoint"),
        ({"status": "maybe"}, "status"),
        ({"latency_ms": None}, "latency_ms"),
        ({"latency_ms": True}, "latency_ms"),
        ({"error_type": "timeout"}, "error_type"),
        ({"status": "error", "error_type": "gremlins"}, "error_type"),
        ({"features": {"nested": {"a": 1}}}, "features"),
        ({"prediction": [1, 2]}, "prediction"),
        ({"cost_usd": -0.5}, "cost_usd"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_each_field_rule_names_its_field(fraud_v1, root, api_as, event, overrides, field):
    response = api_as(root).post(URL, [event(1, **overrides)], format="json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_an_error_event_may_omit_its_latency(fraud_v1, root, api_as, event):
    row = event(1, status="error", error_type="timeout", latency_ms=None)
    assert api_as(root).post(URL, [row], format="json").status_code == 202


def test_a_non_object_item_is_named_by_index(fraud_v1, root, api_as, event):
    response = api_as(root).post(URL, [event(1), 5], format="json")
    assert response.json()["errors"] == [
        {"index": 1, "field": "", "reason": "each event must be a JSON object"}
    ]


def test_broken_json_is_a_400_with_the_reason(root, api_as):
    response = api_as(root).post(URL, "[{", content_type="application/json")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["errors"][0]["reason"]


def test_a_broken_ndjson_line_is_named(root, api_as, fraud_v1, event):
    body = json.dumps(event(1)) + "\n{oops\n"
    response = api_as(root).post(URL, body, content_type="application/x-ndjson")
    assert response.status_code == 400
    assert "line 2" in response.json()["errors"][0]["reason"]


def test_a_wrong_content_type_is_415(root, api_as):
    response = api_as(root).post(URL, "a,b\n1,2", content_type="text/csv")
    assert response.status_code == 415


@override_settings(KPIBOARD_INGEST_MAX_BODY_BYTES=1000)
def test_a_body_over_the_limit_is_413(fraud_v1, root, api_as, event):
    response = api_as(root).post(URL, [event(i) for i in range(30)], format="json")
    assert response.status_code == 413
    assert ServingEvent.objects.count() == 0


@override_settings(KPIBOARD_INGEST_MAX_ITEMS=2)
def test_a_batch_with_too_many_items_is_413(fraud_v1, root, api_as, event):
    response = api_as(root).post(URL, [event(i) for i in range(3)], format="json")
    assert response.status_code == 413


def test_a_token_may_not_push_for_another_teams_model(
    fraud_v1, reco_v1, growth_team, token_client, event
):
    rows = [event(1), event(2, model="recommender")]
    response = token_client(growth_team).post(URL, rows, format="json")
    assert response.status_code == 403
    assert [e["index"] for e in response.json()["errors"]] == [0]
    assert ServingEvent.objects.count() == 0


def test_an_admin_token_may_push_for_any_team(fraud_v1, growth_team, token_client, event):
    response = token_client(growth_team, Role.ADMIN).post(URL, [event(1)], format="json")
    assert response.status_code == 202


def test_an_executive_token_may_not_push(fraud_v1, risk_team, token_client, event):
    response = token_client(risk_team, Role.EXECUTIVE).post(URL, [event(1)], format="json")
    assert response.status_code == 403


def test_anonymous_pushes_are_refused(fraud_v1, client, event):
    response = client.post(URL, [event(1)], content_type="application/json")
    assert response.status_code in (401, 403)


def test_it_keeps_event_time_and_received_time_and_applies_the_unit_cost(
    fraud_v1, scoring, root, api_as, event
):
    rows = [event(1, endpoint="scoring"), event(2, cost_usd=0.25)]
    api_as(root).post(URL, rows, format="json")
    first, second = ServingEvent.objects.order_by("event_id")
    assert first.timestamp.isoformat() == rows[0]["timestamp"]
    assert first.received_at > first.timestamp
    assert first.cost_usd == Decimal("0.0001") and second.cost_usd == Decimal("0.25")
    assert first.endpoint == scoring and first.caller == "checkout"


def test_a_zone_offset_is_stored_as_the_same_instant(fraud_v1, root, api_as, event, event_hour):
    in_helsinki = event_hour.astimezone(timezone(timedelta(hours=2)))
    assert in_helsinki.isoformat().endswith("+02:00")
    api_as(root).post(URL, [event(1, timestamp=in_helsinki.isoformat())], format="json")
    assert ServingEvent.objects.get().timestamp.isoformat() == event_hour.isoformat()  # UTC


def test_stored_events_are_rolled_up_once_committed(
    fraud_v1, root, api_as, event, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        api_as(root).post(
            URL, [event(1), event(2, status="error", error_type="timeout")], format="json"
        )
    assert RollupMark.objects.count() == 0
    hour = ServingRollup.objects.get(granularity="hour")
    assert (hour.inferences, hour.errors, hour.errors_timeout) == (2, 1, 1)


def test_a_repeat_only_batch_schedules_no_rollup(
    fraud_v1, root, api_as, event, django_capture_on_commit_callbacks
):
    api_as(root).post(URL, [event(1)], format="json")
    with django_capture_on_commit_callbacks() as callbacks:
        api_as(root).post(URL, [event(1)], format="json")
    assert callbacks == []
