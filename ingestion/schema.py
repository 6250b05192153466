"""What the push API reads and answers, for the OpenAPI schema only.

The push views read their bodies themselves (ingestion.api) and the services validate
them (ingestion.events, ingestion.labels, ...); these serializers are never run. They
describe the same fields as SPEC.md's contract so that clients and schemathesis see them.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from ingestion.registry.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from ingestion.validation import MAX_NAME_LENGTH
from lifecycle.catalog.models import FailureClass, LifecyclePhase
from lifecycle.catalog.schema import (
    BATCH_ERROR,
    CONFLICT,
    PAYLOAD_TOO_LARGE,
    TEAM_SCOPE_REFUSED,
    UNSUPPORTED_MEDIA_TYPE,
    BatchErrorSerializer,
    ErrorSerializer,
    FieldErrorSerializer,
    PushBatchSerializer,
)


def _name(**kwargs: object) -> serializers.CharField:
    return serializers.CharField(max_length=MAX_NAME_LENGTH, **kwargs)


class ServingEventSerializer(serializers.Serializer):
    event_id = _name(help_text="Unique per source; a repeat is counted once")
    timestamp = serializers.DateTimeField(help_text="ISO 8601 with a zone")
    model = _name(help_text="A registered model's name")
    version = _name(help_text="One of the model's version names")
    endpoint = _name(required=False, allow_null=True, help_text="An endpoint's name")
    latency_ms = serializers.FloatField(
        min_value=0, required=False, allow_null=True, help_text="Required when status is ok"
    )
    status = serializers.ChoiceField(["ok", "error"])
    error_type = serializers.ChoiceField(
        FailureClass.choices,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Required when status is error, absent otherwise",
    )
    caller = _name(required=False, allow_null=True, help_text="The consuming application")
    features = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        allow_null=True,
        help_text="A flat object of numbers, strings, booleans and nulls",
    )
    prediction = serializers.JSONField(
        required=False, allow_null=True, help_text="A number or a string"
    )
    cost_usd = serializers.FloatField(
        min_value=0, required=False, allow_null=True, help_text="Else the model's unit cost"
    )


class LabelSerializer(serializers.Serializer):
    event_id = _name(help_text="The serving event this labels")
    label = serializers.JSONField(help_text="The ground truth: a number, string or boolean")
    timestamp = serializers.DateTimeField(help_text="ISO 8601 with a zone")


class MetricSerializer(serializers.Serializer):
    metric_id = _name(required=False, allow_null=True, help_text="Makes a retried push a repeat")
    model = _name()
    version = _name(required=False, allow_null=True)
    phase = serializers.ChoiceField(LifecyclePhase.choices)
    name = _name()
    value = serializers.FloatField()
    timestamp = serializers.DateTimeField(help_text="ISO 8601 with a zone")
    dimensions = serializers.DictField(
        child=serializers.JSONField(), required=False, allow_null=True
    )


class RegistryEventSerializer(serializers.Serializer):
    event_id = _name(help_text="Unique per registry; a repeat is counted once")
    event = serializers.ChoiceField(
        ["registered", "promoted", "deployed", "rolled_back", "archived"]
    )
    timestamp = serializers.DateTimeField(help_text="ISO 8601 with a zone")
    model = _name()
    version = _name()
    registry = _name(required=False, allow_null=True)
    endpoint = _name(required=False, allow_null=True, help_text="For deployed and rolled_back")
    role = serializers.ChoiceField(
        ["production", "shadow", "canary"], required=False, allow_null=True
    )
    traffic_share = serializers.FloatField(
        min_value=0, max_value=1, required=False, allow_null=True
    )
    alias = _name(required=False, allow_null=True)
    outcome = serializers.ChoiceField(["succeeded", "failed"], required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    run_id = _name(required=False, allow_null=True)
    run_ended_at = serializers.DateTimeField(required=False, allow_null=True)
    description = serializers.CharField(required=False, allow_null=True, allow_blank=True)


class IngestResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Items stored by this push")
    repeats = serializers.IntegerField(help_text="Items already stored before, counted once")


class KServeResultSerializer(IngestResultSerializer):
    pending = serializers.IntegerField(help_text="Requests still waiting for their response")


def push_request(item: type[serializers.Serializer], key: str) -> dict[str, object]:
    """A JSON list of items, {key: [...]}, or NDJSON, one item a line."""
    return {
        "application/json": PushBatchSerializer(item=item, key=key),
        "application/x-ndjson": OpenApiTypes.STR,
    }


LENGTH_REQUIRED = OpenApiResponse(
    ErrorSerializer,
    description="Sent without Content-Length (chunked): send the body with its length",
)

PUSH_RESPONSES: dict[int, object] = {
    202: OpenApiResponse(IngestResultSerializer, description="Stored"),
    400: BATCH_ERROR,
    403: TEAM_SCOPE_REFUSED,
    409: CONFLICT,
    411: LENGTH_REQUIRED,
    413: PAYLOAD_TOO_LARGE,
    415: UNSUPPORTED_MEDIA_TYPE,
}

KSERVE_RESPONSES: dict[int, object] = {
    **PUSH_RESPONSES,
    202: OpenApiResponse(KServeResultSerializer, description="Stored, or waiting for its pair"),
}

REGISTRY_EVENTS_RESPONSES: dict[int, object] = {
    200: OpenApiResponse(IngestResultSerializer, description="Stored"),
    400: BATCH_ERROR,
    403: TEAM_SCOPE_REFUSED,
    411: LENGTH_REQUIRED,
    413: PAYLOAD_TOO_LARGE,
    415: UNSUPPORTED_MEDIA_TYPE,
}

KSERVE_HEADERS = [
    OpenApiParameter(
        "ce-id",
        str,
        OpenApiParameter.HEADER,
        required=True,
        description="Joins a request and its response",
    ),
    OpenApiParameter(
        "ce-type",
        str,
        OpenApiParameter.HEADER,
        required=True,
        enum=["org.kubeflow.serving.inference.request", "org.kubeflow.serving.inference.response"],
    ),
    OpenApiParameter("ce-specversion", str, OpenApiParameter.HEADER, required=True, enum=["1.0"]),
    OpenApiParameter("ce-source", str, OpenApiParameter.HEADER, required=True),
    OpenApiParameter(
        "ce-inferenceservicename",
        str,
        OpenApiParameter.HEADER,
        required=True,
        description="The registered model's name",
    ),
    OpenApiParameter("ce-time", OpenApiTypes.DATETIME, OpenApiParameter.HEADER),
    OpenApiParameter("ce-endpoint", str, OpenApiParameter.HEADER, description="Endpoint name"),
]

KSERVE_BODY = {
    "application/json": {
        "type": "object",
        "description": "The inference request (`instances`, or Open Inference Protocol "
        "`inputs`) or response (`predictions`, or `outputs`) as KServe logged it",
        "properties": {
            "instances": {"type": "array", "items": {}},
            "inputs": {"type": "array", "items": {}},
            "predictions": {"type": "array", "items": {}},
            "outputs": {"type": "array", "items": {}},
        },
    }
}

WEBHOOK_HEADERS = [
    OpenApiParameter(
        SIGNATURE_HEADER,
        str,
        OpenApiParameter.HEADER,
        required=True,
        description="HMAC-SHA256 of the delivery with the registry's webhook secret",
    ),
    OpenApiParameter(DELIVERY_HEADER, str, OpenApiParameter.HEADER, required=True),
    OpenApiParameter(
        TIMESTAMP_HEADER, int, OpenApiParameter.HEADER, required=True, description="Unix seconds"
    ),
]

WEBHOOK_RESPONSES: dict[int, object] = {
    200: OpenApiResponse(
        inline_serializer(
            name="WebhookResult",
            fields={
                "action": serializers.CharField(),
                "changes": serializers.IntegerField(),
                "repeat": serializers.BooleanField(),
            },
        ),
        description="Recorded (or a repeat delivery)",
    ),
    **{
        code: OpenApiResponse(FieldErrorSerializer, description=description)
        for code, description in (
            (400, "A header or the body is malformed"),
            (401, "The signature is missing or does not match"),
            (404, "No registry of this name takes webhooks"),
            (413, "The body is too large"),
        )
    },
    411: LENGTH_REQUIRED,
}

UPLOAD_RESPONSES: dict[int, object] = {
    201: OpenApiTypes.OBJECT,
    # A multipart or JSON body the parser cannot read answers DRF's {detail} alone.
    400: OpenApiResponse(
        ErrorSerializer,
        description="Refused, nothing stored: the batch error body (`BatchError`, with "
        "`code` for a file that cannot be profiled), or `{detail}` alone for a body that "
        "cannot be parsed",
    ),
    403: TEAM_SCOPE_REFUSED,
    409: OpenApiResponse(
        BatchErrorSerializer, description="The version name is taken: the batch error body"
    ),
    413: PAYLOAD_TOO_LARGE,
    415: OpenApiResponse(
        ErrorSerializer,
        description="The file is not of the type it claims (the batch error body, `code` "
        "wrong_type), or the request's Content-Type is not one this operation reads "
        "(`{detail}`)",
    ),
}
