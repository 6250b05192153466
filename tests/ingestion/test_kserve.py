"""KServe's inference logger: CloudEvents built with the `cloudevents` package the way
KServe's logger sends them (binary mode, ce-* headers, same ce-id for both halves)."""

from datetime import datetime, timedelta

import pytest
from cloudevents.core.bindings.http import to_binary_event
from cloudevents.core.v1.event import CloudEvent
from django.test import override_settings

from ingestion.kserve import kserve_pending_expire
from ingestion.models import KServePending
from lifecycle.catalog.models import ServingEvent

pytestmark = pytest.mark.django_db
URL = "/api/v1/kserve/"


@pytest.fixture
def t0(now):
    """When the logged inferences happen: a minute before `now`."""
    return now - timedelta(minutes=1)


def _message(kind: str, ce_id: str, data: dict, *, at: datetime, service: str = "fraud-scorer"):
    event = CloudEvent(
        {
            "id": ce_id,
            "type": f"org.kubeflow.serving.inference.{kind}",
            "source": "http://localhost:9081/",
            "specversion": "1.0",
            "time": at,
            "datacontenttype": "application/json",
            "inferenceservicename": service,
            "namespace": "default",
            "endpoint": "",
        },
        data,
    )
    return to_binary_event(event)


def _post(client, message, **extra):
    headers = {k: v for k, v in message.headers.items() if k != "content-type"}
    return client.post(
        URL, message.body, content_type=message.headers["content-type"], headers=headers, **extra
    )


def test_a_request_and_its_response_become_one_event_with_their_latency(fraud_v1, root, api_as, t0):
    client = api_as(root)
    request = _message("request", "c-1", {"instances": [[6.8, 2.8]]}, at=t0)
    response = _message("response", "c-1", {"predictions": [1]}, at=t0 + timedelta(milliseconds=42))
    first = _post(client, request)
    assert first.status_code == 202 and first.json()["pending"] is True
    second = _post(client, response)
    assert second.json() == {"accepted": 1, "repeats": 0, "pending": False}
    event = ServingEvent.objects.get()
    assert event.event_id == "c-1" and event.status == "ok"
    assert event.latency_ms == pytest.approx(42.0)
    assert event.timestamp == t0 and event.prediction == 1
    assert event.features == {"x0": 6.8, "x1": 2.8} and event.model_version == fraud_v1
    assert not KServePending.objects.exists()


def test_a_response_may_arrive_before_its_request(fraud_v1, root, api_as, t0):
    client = api_as(root)
    _post(client, _message("response", "c-2", {"predictions": [0]}, at=t0 + timedelta(seconds=1)))
    assert (
        _post(client, _message("request", "c-2", {"instances": [[1]]}, at=t0)).json()["accepted"]
        == 1
    )
    assert ServingEvent.objects.get().latency_ms == pytest.approx(1000.0)


def test_a_batched_request_becomes_one_event_per_row(fraud_v1, root, api_as, t0):
    client = api_as(root)
    _post(client, _message("request", "c-3", {"instances": [{"a": 1}, {"a": 2}, {"a": 3}]}, at=t0))
    _post(client, _message("response", "c-3", {"predictions": [0, 1, 0]}, at=t0))
    events = ServingEvent.objects.order_by("event_id")
    assert [e.event_id for e in events] == ["c-3:0", "c-3:1", "c-3:2"]
    assert [e.prediction for e in events] == [0, 1, 0]
    assert [e.features["a"] for e in events] == [1, 2, 3]


def test_open_inference_protocol_bodies_are_read_per_row(fraud_v1, root, api_as, t0):
    client = api_as(root)
    inputs = {
        "inputs": [
            {"name": "amount", "shape": [2], "datatype": "FP32", "data": [10.5, 99.0]},
            {"name": "vec", "shape": [2, 2], "datatype": "FP32", "data": [[1, 2], [3, 4]]},
        ]
    }
    outputs = {
        "model_name": "fraud-scorer",
        "model_version": "1",
        "outputs": [{"name": "score", "shape": [2, 1], "datatype": "FP32", "data": [0.1, 0.9]}],
    }
    _post(client, _message("request", "c-4", inputs, at=t0))
    _post(client, _message("response", "c-4", outputs, at=t0 + timedelta(milliseconds=5)))
    first, second = ServingEvent.objects.order_by("event_id")
    assert first.features == {"amount": 10.5, "vec[0]": 1, "vec[1]": 2}
    assert (first.prediction, second.prediction) == (0.1, 0.9)


def test_a_redelivered_pair_is_counted_once(fraud_v1, root, api_as, t0):
    client = api_as(root)
    request = _message("request", "c-5", {"instances": [[1]]}, at=t0)
    response = _message("response", "c-5", {"predictions": [1]}, at=t0)
    for message in (request, response, request, response):
        _post(client, message)
    assert ServingEvent.objects.count() == 1
    assert not KServePending.objects.exists()


@override_settings(KPIBOARD_KSERVE_RESPONSE_TIMEOUT_SECONDS=30)
def test_a_request_without_response_becomes_an_error_of_class_other(fraud_v1, root, api_as, t0):
    _post(api_as(root), _message("request", "c-6", {"instances": [[1], [2]]}, at=t0))
    pending = KServePending.objects.get()
    assert kserve_pending_expire(now=pending.received_at + timedelta(seconds=10)) == 0
    assert kserve_pending_expire(now=pending.received_at + timedelta(seconds=31)) == 2
    events = ServingEvent.objects.all()
    assert {(e.status, e.error_type, e.latency_ms) for e in events} == {("error", "other", None)}


def test_an_unknown_inference_service_is_refused(fraud_v1, root, api_as, t0):
    response = _post(
        api_as(root), _message("request", "c-7", {"instances": [[1]]}, at=t0, service="x")
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "ce-inferenceservicename"


def test_a_structured_mode_or_headerless_post_is_refused(root, api_as):
    response = api_as(root).post(URL, {"specversion": "1.0"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "ce-id"


def test_the_logger_may_authenticate_with_a_token_in_the_url(fraud_v1, risk_team, client, t0):
    from lifecycle.catalog.tokens import api_token_create

    _, key = api_token_create(team=risk_team)
    response = _post(
        client, _message("request", "c-8", {"instances": [[1]]}, at=t0), QUERY_STRING=f"token={key}"
    )
    assert response.status_code == 202
