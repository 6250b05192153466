"""The OpenAPI schema at /api/schema/ describes the API: every operation's answers, the
push bodies, and the fields that may be null."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.urls import path
from drf_spectacular.generators import SchemaGenerator
from rest_framework.response import Response
from rest_framework.views import APIView

METHODS = ("get", "post", "put", "patch", "delete")
PUSHES = [
    "/api/v1/events/",
    "/api/v1/labels/",
    "/api/v1/metrics/",
    "/api/v1/kserve/",
    "/api/v1/registry-events/",
    "/api/v1/datasets/{name}/versions/",
]


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema: dict):
    for route, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield route, method, item[method]


def _component(schema: dict, ref: str) -> dict:
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def _body_schema(schema: dict, response: dict) -> dict:
    return _component(schema, response["content"]["application/json"]["schema"]["$ref"])


def test_every_operation_documents_its_error_answers(schema):
    missing = []
    for route, method, operation in _operations(schema):
        codes = set(operation["responses"])
        expected = {"503"}
        if operation.get("security") != [{}]:  # the MLflow webhook signs, it has no token
            expected |= {"401", "403"}
        if "{" in route:
            expected.add("404")
        if method in ("post", "put", "patch"):
            expected.add("400")
        if "requestBody" in operation:
            expected.add("415")
        if method == "delete":
            expected.add("409")
        if not any(code.startswith("2") for code in codes) or not expected <= codes:
            missing.append(f"{method.upper()} {route}: {sorted(expected - codes)}")
    assert not missing, missing


def test_every_error_answer_has_a_json_body(schema):
    bare = [
        f"{method.upper()} {route} {code}"
        for route, method, operation in _operations(schema)
        for code, response in operation["responses"].items()
        if code >= "400" and "application/json" not in response.get("content", {})
    ]
    assert not bare, bare


def test_a_database_outage_is_documented_with_retry_after(schema):
    operation = schema["paths"]["/api/v1/kpis/portfolio/"]["get"]
    outage = operation["responses"]["503"]
    assert outage["headers"]["Retry-After"]["schema"] == {"type": "integer"}
    assert "detail" in _body_schema(schema, outage)["properties"]


@pytest.mark.parametrize("route", PUSHES)
def test_every_push_operation_documents_its_request_body(schema, route):
    body = schema["paths"][route]["post"].get("requestBody")
    assert body is not None and body["content"], route


@pytest.mark.parametrize("route", ["/api/v1/events/", "/api/v1/labels/", "/api/v1/metrics/"])
def test_a_push_reads_a_json_list_a_keyed_object_or_ndjson(schema, route):
    content = schema["paths"][route]["post"]["requestBody"]["content"]
    assert "application/x-ndjson" in content
    batch = _component(schema, content["application/json"]["schema"]["$ref"])
    listed, keyed = batch["oneOf"]
    assert listed["type"] == "array"
    key = route.strip("/").rsplit("/", 1)[-1]
    assert keyed["required"] == [key] and keyed["properties"][key]["type"] == "array"
    assert listed["items"] == keyed["properties"][key]["items"]


def test_the_event_body_lists_the_contract_fields(schema):
    event = schema["components"]["schemas"]["ServingEvent"]
    assert set(event["required"]) == {"event_id", "timestamp", "model", "version", "status"}
    for optional in ("endpoint", "latency_ms", "caller", "features", "prediction", "cost_usd"):
        assert event["properties"][optional].get("nullable") is True, optional


def test_a_rejected_push_documents_the_batch_error_body(schema):
    answer = schema["paths"]["/api/v1/events/"]["post"]["responses"]["400"]
    body = _body_schema(schema, answer)
    assert set(body["required"]) == {"detail", "error_count", "errors"}
    item = _component(schema, body["properties"]["errors"]["items"]["$ref"])
    assert set(item["properties"]) == {"index", "field", "reason"}
    assert item["properties"]["index"]["nullable"] is True


def test_a_kserve_cloudevent_documents_its_ce_headers(schema):
    operation = schema["paths"]["/api/v1/kserve/"]["post"]
    required = {
        p["name"] for p in operation["parameters"] if p["in"] == "header" and p.get("required")
    }
    assert required == {
        "ce-id",
        "ce-type",
        "ce-specversion",
        "ce-source",
        "ce-inferenceservicename",
    }


def test_a_field_whose_source_may_be_null_is_marked_nullable(schema):
    change = schema["components"]["schemas"]["LifecycleChange"]["properties"]
    for field in ("version", "registry", "endpoint", "supersedes", "deployment"):
        assert change[field].get("nullable") is True, field
    assert not change["model"].get("nullable")


def test_an_operation_added_later_gets_the_error_answers_for_free():
    class Thing(APIView):
        def get(self, request, name):
            return Response({})

        def delete(self, request, name):
            return Response(status=204)

    generated = SchemaGenerator(patterns=[path("things/<str:name>/", Thing.as_view())])
    operations = generated.get_schema(request=None, public=True)["paths"]["/things/{name}/"]
    assert set(operations["get"]["responses"]) == {"200", "401", "403", "404", "503"}
    assert set(operations["delete"]["responses"]) == {"204", "401", "403", "404", "409", "503"}


def test_the_schema_validates_with_no_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert re.search(r"^openapi: 3\.", out.read_text(), re.M)


@pytest.mark.parametrize(
    "route",
    [
        "/api/v1/kpis/portfolio/",
        "/api/v1/kpis/models/{model_name}/",
        "/api/v1/kpis/deployment/",
        "/api/v1/kpis/value/",
        "/api/v1/datasets/",
        "/api/v1/datasets/{name}/versions/{version}/",
        "/api/v1/training-runs/",
    ],
)
def test_every_kpi_endpoint_documents_previous(schema, route):
    parameters = {p["name"]: p for p in schema["paths"][route]["get"].get("parameters", [])}
    assert parameters["previous"]["schema"] == {"type": "boolean"}


def test_a_kpi_answer_says_whether_it_compares_with_a_previous_period(schema):
    kpi = _component(schema, "#/components/schemas/Kpi")
    assert kpi["properties"]["compares"]["type"] == "boolean"
    assert "previous" in kpi["properties"] and "previous" not in kpi["required"]
