"""A rejected push answers the batch error body, {detail, error_count, errors: [{index,
field, reason}]}, whatever was wrong with it: the body itself or its items."""

import json

import pytest

from lifecycle.catalog.models import Role, ServingEvent

pytestmark = pytest.mark.django_db


def test_a_body_that_is_not_json_names_the_body_with_a_null_index(root, api_as):
    response = api_as(root).post("/api/v1/events/", "[{", content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["error_count"] == 1
    assert body["errors"] == [
        {"index": None, "field": "body", "reason": body["errors"][0]["reason"]}
    ]
    assert body["errors"][0]["reason"].startswith("not valid JSON")


def test_an_object_that_is_not_a_batch_is_refused_with_the_batch_error_body(root, api_as):
    response = api_as(root).post("/api/v1/labels/", {"labels": [], "x": 1}, format="json")
    assert response.status_code == 400
    assert response.json()["error_count"] == 1
    assert response.json()["errors"][0]["field"] == "body"


def test_a_bad_ndjson_line_is_named_by_its_index_as_a_number(fraud_v1, root, api_as, event):
    body = json.dumps(event(1)) + "\n{oops\n"
    response = api_as(root).post("/api/v1/events/", body, content_type="application/x-ndjson")
    assert response.status_code == 400
    assert response.json()["errors"][0]["index"] == 1
    assert not ServingEvent.objects.exists()


def test_a_rejected_registry_event_batch_counts_its_errors(token_client, risk_team, fraud_scorer):
    response = token_client(risk_team, Role.MLOPS).post(
        "/api/v1/registry-events/", [{"event": "registered"}, {"event": "nope"}], format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error_count"] >= 2
    assert body["error_count"] >= len(body["errors"])
