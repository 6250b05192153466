"""KServe intake refuses what it cannot store before it costs anything: shapes that do not
match their data, NaN and Infinity, over-long headers; and pairs join within a team."""

import json
import tracemalloc
from datetime import timedelta

import pytest
from cloudevents.core.bindings.http import to_binary_event
from cloudevents.core.v1.event import CloudEvent
from django.test import override_settings

from ingestion.kserve import kserve_pending_expire
from ingestion.models import KServePending
from lifecycle.catalog.models import ServingEvent
from lifecycle.catalog.tokens import api_token_create
from tests import factories

pytestmark = pytest.mark.django_db
URL = "/api/v1/kserve/"


def _headers(kind: str, ce_id: str, *, at, service: str = "fraud-scorer") -> dict[str, str]:
    event = CloudEvent(
        {
            "id": ce_id,
            "type": f"org.kubeflow.serving.inference.{kind}",
            "source": "http://localhost:9081/",
            "specversion": "1.0",
            "time": at,
            "datacontenttype": "application/json",
            "inferenceservicename": service,
        },
        {},
    )
    return {k: v for k, v in to_binary_event(event).headers.items() if k != "content-type"}


def _post(client, kind: str, ce_id: str, body: bytes | str, *, at, **extra):
    if isinstance(body, str):
        body = body.encode()
    return client.post(
        URL,
        body,
        content_type="application/json",
        headers={**_headers(kind, ce_id, at=at, service=extra.pop("service", "fraud-scorer"))},
        **extra,
    )


def _error(response) -> dict:
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"detail", "error_count", "errors"}
    return body["errors"][0]


def test_it_refuses_a_declared_batch_the_data_does_not_hold_without_allocating_it(
    fraud_v1, root, api_as, now
):
    client = api_as(root)
    body = json.dumps(
        {"inputs": [{"name": "x", "shape": [10_000_000], "datatype": "FP32", "data": [1]}]}
    )
    _post(client, "request", "warm", "{}", at=now)  # imports and URL resolution, once
    tracemalloc.start()
    try:
        response = _post(client, "request", "big", body, at=now)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    error = _error(response)
    assert error["field"] == "inputs[0].data" and "10000000" in error["reason"]
    # Ten million empty rows would be about 700 MB; the refusal costs well under 5 MB.
    assert peak < 5 * 1024 * 1024, peak
    assert not KServePending.objects.exists()


@pytest.mark.parametrize(
    "shape",
    [[2.5], ["2"], [-1], [0], [], [[2]], [True], None, "2", [1, 10**30]],
)
def test_it_refuses_a_malformed_shape_naming_the_field(fraud_v1, root, api_as, now, shape):
    body = {"inputs": [{"name": "x", "shape": shape, "datatype": "FP32", "data": [1, 2]}]}
    error = _error(_post(api_as(root), "request", "s", json.dumps(body), at=now))
    assert error["field"].startswith("inputs[0]")
    assert not KServePending.objects.exists()


def test_it_refuses_a_shape_whose_product_does_not_match_the_data(fraud_v1, root, api_as, now):
    body = {
        "inputs": [{"name": "v", "shape": [2, 3], "datatype": "FP32", "data": [[1, 2], [3, 4]]}]
    }
    error = _error(_post(api_as(root), "request", "p", json.dumps(body), at=now))
    assert error["field"] == "inputs[0].data" and "needs 6" in error["reason"]


def test_it_refuses_tensors_that_disagree_on_the_batch(fraud_v1, root, api_as, now):
    body = {
        "inputs": [
            {"name": "a", "shape": [2], "data": [1, 2]},
            {"name": "b", "shape": [3], "data": [1, 2, 3]},
        ]
    }
    error = _error(_post(api_as(root), "request", "d", json.dumps(body), at=now))
    assert error["field"] == "inputs[1].shape"


def test_it_refuses_objects_inside_tensor_data(fraud_v1, root, api_as, now):
    body = {"inputs": [{"name": "a", "shape": [2], "data": [{"x": 1}, 2]}]}
    error = _error(_post(api_as(root), "request", "o", json.dumps(body), at=now))
    assert error["field"] == "inputs[0].data"


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("request", '{"instances": [[NaN]]}'),
        ("request", '{"instances": [{"a": Infinity}]}'),
        ("request", '{"inputs": [{"name": "a", "shape": [1], "data": [-Infinity]}]}'),
        ("request", '{"instances": [[1e999]]}'),
        ("response", '{"predictions": [NaN]}'),
        ("response", '{"outputs": [{"name": "s", "shape": [1], "data": [Infinity]}]}'),
    ],
)
def test_it_refuses_nan_and_infinity_anywhere_in_a_body(fraud_v1, root, api_as, now, kind, body):
    error = _error(_post(api_as(root), kind, "n", body, at=now))
    assert error["field"] == "data"
    assert not KServePending.objects.exists()


def test_it_refuses_json_nested_past_the_recursion_limit(fraud_v1, root, api_as, now):
    body = '{"instances": ' + "[" * 100_000 + "]" * 100_000 + "}"
    error = _error(_post(api_as(root), "request", "deep", body, at=now))
    assert error["field"] == "data"


def test_it_refuses_a_ce_id_over_200_characters(fraud_v1, root, api_as, now):
    error = _error(_post(api_as(root), "request", "c" * 201, '{"instances": [[1]]}', at=now))
    assert error["field"] == "ce-id"
    assert not KServePending.objects.exists()


def test_it_refuses_a_ce_id_whose_row_ids_would_be_over_200_characters(fraud_v1, root, api_as, now):
    body = json.dumps({"instances": [[i] for i in range(12)]})
    error = _error(_post(api_as(root), "request", "c" * 198, body, at=now))
    assert error["field"] == "ce-id" and "12 rows" in error["reason"]


@override_settings(KPIBOARD_INGEST_MAX_ITEMS=3)
def test_it_answers_413_for_more_rows_than_a_push_may_carry(fraud_v1, root, api_as, now):
    body = json.dumps({"instances": [[i] for i in range(4)]})
    response = _post(api_as(root), "request", "many", body, at=now)
    assert response.status_code == 413
    assert response.json()["errors"][0]["field"] == "data"


@pytest.fixture
def twin_services(fraud_v1, growth_team):
    """Team growth's model and version, with the same version name as fraud-scorer's."""
    other = factories.model_make("churn", team=growth_team, industry=fraud_v1.model.industry)
    return factories.version_make(other, "1")


def test_a_response_of_another_team_never_joins_a_request_by_ce_id(
    fraud_v1, twin_services, risk_team, growth_team, token_client, now
):
    risk, growth = token_client(risk_team), token_client(growth_team)
    request = _post(risk, "request", "shared", '{"instances": [[1]]}', at=now)
    assert request.status_code == 202 and request.json()["pending"] is True
    response = _post(
        growth,
        "response",
        "shared",
        '{"predictions": [7]}',
        at=now + timedelta(milliseconds=5),
        service="churn",
    )
    assert response.status_code == 202 and response.json()["pending"] is True
    assert not ServingEvent.objects.exists()
    assert set(KServePending.objects.values_list("team__name", "kind")) == {
        (risk_team.name, "request"),
        (growth_team.name, "response"),
    }


@override_settings(KPIBOARD_KSERVE_RESPONSE_TIMEOUT_SECONDS=30)
def test_the_timeout_sweep_pairs_halves_only_within_a_team(
    fraud_v1, twin_services, risk_team, growth_team, token_client, now
):
    _post(token_client(risk_team), "request", "same", '{"instances": [[1]]}', at=now)
    _post(
        token_client(growth_team),
        "response",
        "same",
        '{"predictions": [7]}',
        at=now,
        service="churn",
    )
    assert kserve_pending_expire(now=now + timedelta(seconds=5)) == 0
    assert kserve_pending_expire(now=now + timedelta(seconds=31)) == 1
    event = ServingEvent.objects.get()
    assert (event.status, event.error_type, event.prediction) == ("error", "other", None)
    assert event.model_version == fraud_v1
    assert not KServePending.objects.exists()


def test_a_ce_id_stored_by_another_team_is_not_taken_for_a_redelivery(
    fraud_v1, twin_services, risk_team, growth_team, token_client, now
):
    growth = token_client(growth_team)
    _post(growth, "request", "again", '{"instances": [[1]]}', at=now, service="churn")
    _post(growth, "response", "again", '{"predictions": [1]}', at=now, service="churn")
    assert ServingEvent.objects.count() == 1
    response = _post(token_client(risk_team), "request", "again", '{"instances": [[1]]}', at=now)
    assert response.json() == {"accepted": 0, "repeats": 0, "pending": True}


def test_the_logger_authenticates_with_the_authorization_header(fraud_v1, risk_team, client, now):
    _, key = api_token_create(team=risk_team)
    response = _post(
        client, "request", "h", '{"instances": [[1]]}', at=now, HTTP_AUTHORIZATION=f"Token {key}"
    )
    assert response.status_code == 202


@override_settings(KPIBOARD_KSERVE_QUERY_TOKEN=False)
def test_a_token_in_the_url_is_refused_when_turned_off(fraud_v1, risk_team, client, now):
    _, key = api_token_create(team=risk_team)
    response = _post(
        client, "request", "q", '{"instances": [[1]]}', at=now, QUERY_STRING=f"token={key}"
    )
    assert response.status_code == 401
    assert "Authorization" in response.json()["detail"]
    assert not KServePending.objects.exists()
