"""Registry events, MLflow webhooks and the MLflow sync: a time out of range, or JSON
kpiboard cannot store, answers 4xx naming the field, and nothing is stored."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from ingestion.registry.mlflow import ms_to_datetime
from ingestion.registry.webhooks import webhook_signature
from lifecycle.catalog.models import ModelVersion
from lifecycle.deployment.models import LifecycleChange
from tests.lifecycle.deployment.factories import registry_make

pytestmark = pytest.mark.django_db
EVENTS = "/api/v1/registry-events/"
SECRET = "whsec-test-1"
WEBHOOK = "/api/v1/registries/mlflow-main/webhook/"


def _registered(stamp: str, **extra) -> dict:
    return {
        "event_id": "r-1",
        "event": "registered",
        "timestamp": stamp,
        "model": "fraud-scorer",
        "version": "7",
        **extra,
    }


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_it_refuses_a_registry_event_whose_utc_time_leaves_the_calendar(
    fraud_scorer, risk_team, token_client, stamp
):
    response = token_client(risk_team).post(EVENTS, _registered(stamp), format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 0, "field": "timestamp", "reason": "its UTC value is outside the years 1 to 9999"}
    ]
    assert not LifecycleChange.objects.exists() and not ModelVersion.objects.exists()


def test_it_refuses_a_run_end_out_of_range(fraud_scorer, risk_team, token_client, now):
    event = _registered(now.isoformat(), run_ended_at="0001-01-01T00:00:00+01:00")
    response = token_client(risk_team).post(EVENTS, event, format="json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["run_ended_at"]


def test_pages_and_the_ledger_still_answer_after_a_refused_event(
    fraud_scorer, risk_team, token_client, api_as, root
):
    token_client(risk_team).post(EVENTS, _registered("0001-01-01T00:00:00+01:00"), format="json")
    assert api_as(root).get("/api/v1/lifecycle-changes/").status_code == 200
    assert api_as(root).get("/api/v1/kpis/deployment/").status_code == 200


@pytest.mark.parametrize(
    ("text", "field"),
    [('"\\ud800"', "0.model"), ('"a\\u0000"', "0.model"), ("NaN", "0.traffic_share")],
)
def test_it_refuses_registry_json_the_database_cannot_take(
    fraud_scorer, risk_team, token_client, now, text, field
):
    row = json.dumps([_registered(now.isoformat(), model="placeholder", traffic_share=0.5)])
    body = row.replace('"placeholder"', text if "model" in field else '"fraud-scorer"')
    if "traffic_share" in field:
        body = body.replace("0.5", text)
    response = token_client(risk_team).generic(
        "POST", EVENTS, body.encode(), content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert not LifecycleChange.objects.exists()


def test_it_refuses_registry_json_nested_past_the_recursion_limit(risk_team, token_client):
    body = ("[" * 100_000 + "]" * 100_000).encode()
    response = token_client(risk_team).generic(
        "POST", EVENTS, body, content_type="application/json"
    )
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["errors"][0]["reason"]


def _webhook(client: APIClient, body: bytes, stamp: str):
    delivery = str(uuid.uuid4())
    return client.generic(
        "POST",
        WEBHOOK,
        body,
        content_type="application/json",
        HTTP_X_MLFLOW_DELIVERY_ID=delivery,
        HTTP_X_MLFLOW_TIMESTAMP=stamp,
        HTTP_X_MLFLOW_SIGNATURE=webhook_signature(
            secret=SECRET, delivery_id=delivery, timestamp=stamp, body=body
        ),
    )


@pytest.mark.parametrize("stamp", ["253402300800", "9" * 5000, "²"])
def test_an_unauthenticated_webhook_with_a_time_past_the_calendar_answers_400(stamp):
    registry_make(webhook_secret=SECRET)
    response = APIClient().post(
        WEBHOOK,
        b"{}",
        content_type="application/json",
        HTTP_X_MLFLOW_DELIVERY_ID="d-1",
        HTTP_X_MLFLOW_TIMESTAMP=stamp,
        HTTP_X_MLFLOW_SIGNATURE="v1,forged",
    )
    assert response.status_code == 400
    assert response.json()["field"] == "X-MLflow-Timestamp"


def test_a_signed_webhook_nested_too_deeply_answers_400():
    registry_make(webhook_secret=SECRET)
    body = ('{"data": ' + "[" * 100_000 + "]" * 100_000 + "}").encode()
    response = _webhook(APIClient(), body, str(int(time.time())))
    assert response.status_code == 400 and "nested too deeply" in response.json()["reason"]


def test_a_signed_webhook_with_a_lone_surrogate_names_the_field():
    registry_make(webhook_secret=SECRET)
    body = b'{"entity": "registered_model", "action": "created", "data": {"name": "\\ud800"}}'
    response = _webhook(APIClient(), body, str(int(time.time())))
    assert response.status_code == 400 and response.json()["field"] == "data.name"


def test_a_webhook_payload_time_out_of_range_falls_back_to_the_signed_time(fraud_scorer, now):
    registry_make(webhook_secret=SECRET)
    ModelVersion.objects.create(model=fraud_scorer, version="3", registered_at=now)
    payload = {
        "entity": "model_version",
        "action": "created",
        "timestamp": "9999-12-31T23:59:59-01:00",
        "data": {"name": "fraud-scorer", "version": "4"},
    }
    response = _webhook(APIClient(), json.dumps(payload).encode(), str(int(time.time())))
    assert response.status_code == 200, response.content
    version = ModelVersion.objects.get(version="4")
    assert abs(version.registered_at - now) < timedelta(minutes=5)


@pytest.mark.parametrize(
    "value", [253402300800000, -1, "1" + "0" * 5000, float("inf"), float("nan"), "soon"]
)
def test_mlflow_milliseconds_out_of_range_are_ignored_not_raised(value):
    assert ms_to_datetime(value) is None


def test_mlflow_milliseconds_in_range_are_read(now):
    assert ms_to_datetime(int(now.timestamp() * 1000)) == now


@pytest.mark.parametrize("field", ["model", "endpoint"])
@pytest.mark.parametrize("value", [{}, ["scoring"]])
def test_it_refuses_an_object_or_list_where_a_name_belongs(
    fraud_scorer, risk_team, token_client, now, field, value
):
    event = _registered(now.isoformat(), **{field: value})
    response = token_client(risk_team).post(EVENTS, event, format="json")
    assert response.status_code == 400, response.content
    assert field in {e["field"] for e in response.json()["errors"]}
    assert not LifecycleChange.objects.exists()
