"""The OpenAPI schema's shared pieces: how API tokens authenticate, the error bodies every
app answers with, and an AutoSchema that documents those answers on every operation.

The error answers are added here, once, rather than on each view: a new endpoint gets
its 400/401/403/404/415/503 documented without anyone remembering to, and a client (or
schemathesis) can rely on every code the API answers being in the schema.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import permissions, serializers

DATABASE_RETRY_AFTER_HEADER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer"},
        "required": True,
    }
}


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "lifecycle.catalog.auth.ApiTokenAuthentication"
    name = "ApiToken"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A team's API token: `Authorization: Token <key>` "
            "(make one with `manage.py create_api_token <team>`).",
        }


class ErrorSerializer(serializers.Serializer):
    """DRF's own error body (401, 403, 404, 405, 409, 411, 415, 503); 409 may also name
    the field and the reason. A refused push answers `BatchError` instead."""

    detail = serializers.CharField()
    field = serializers.CharField(required=False)
    reason = serializers.CharField(required=False)


class FieldErrorSerializer(serializers.Serializer):
    """One refusal that names the field (a header, `body`, ...) and the reason."""

    field = serializers.CharField()
    reason = serializers.CharField()


class BatchErrorItemSerializer(serializers.Serializer):
    index = serializers.IntegerField(
        allow_null=True, help_text="Position of the item in the batch; null for the body"
    )
    field = serializers.CharField(allow_blank=True, help_text="Empty when the whole item is bad")
    reason = serializers.CharField()


class BatchErrorSerializer(serializers.Serializer):
    """A push rejected whole, nothing of it stored: the one body of every refused push
    (events, labels, metrics, KServe, registry events, dataset uploads) at 400, 403 for
    team scope, 409 and 413."""

    detail = serializers.CharField()
    error_count = serializers.IntegerField(help_text="All errors; `errors` shows the first 100")
    errors = BatchErrorItemSerializer(many=True)
    code = serializers.CharField(
        required=False,
        help_text="Uploads only: a stable word for what is wrong with the file (e.g. ragged_row)",
    )


class FieldErrorsSerializer(serializers.Serializer):
    """Stands for DRF's validation errors; the extension below gives its schema."""


class FieldErrorsExtension(OpenApiSerializerExtension):
    target_class = FieldErrorsSerializer

    def get_name(self, auto_schema: object, direction: str) -> str:
        return "FieldErrors"

    def map_serializer(self, auto_schema: object, direction: str) -> dict[str, Any]:
        return {
            "type": "object",
            "description": "The request was refused, nothing stored. Each key names a "
            "field (`non_field_errors` for the whole object, `detail` when the body could "
            "not be read) and holds the reasons: a list of strings, or nested objects for "
            "nested fields.",
            "additionalProperties": {},
        }


class PushBatchSerializer(serializers.Serializer):
    """Stands for a push body: a JSON list of `item`s, `{key: [...]}`, or (`single`) one
    item alone; the extension below gives its schema."""

    def __init__(
        self, *, item: type[serializers.Serializer], key: str, single: bool = False
    ) -> None:
        super().__init__()
        self.item = item
        self.key = key
        self.single = single


class PushBatchExtension(OpenApiSerializerExtension):
    target_class = PushBatchSerializer

    def get_name(self, auto_schema: object, direction: str) -> str:
        return f"{self.target.item.__name__.removesuffix('Serializer')}Batch"

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        item = auto_schema.resolve_serializer(self.target.item, direction).ref
        key = self.target.key
        shapes = [
            {"type": "array", "items": item},
            {
                "type": "object",
                "properties": {key: {"type": "array", "items": item}},
                "required": [key],
                "additionalProperties": False,
            },
        ]
        return {"oneOf": [*shapes, item] if self.target.single else shapes}


ERROR = OpenApiResponse(ErrorSerializer, description="`{detail}`: what went wrong")
BATCH_ERROR = OpenApiResponse(
    BatchErrorSerializer,
    description="Rejected whole, nothing stored: every bad item with its index, field and reason",
)
FIELD_ERRORS = OpenApiResponse(
    FieldErrorsSerializer, description="Invalid input, nothing stored: the reasons by field"
)
PAYLOAD_TOO_LARGE = OpenApiResponse(
    BatchErrorSerializer,
    description="The body, file or batch is over its limit, nothing stored: the batch error "
    "body with `index` null and the field (`body`, `file`, `data`) and limit in `errors`",
)
# `{detail}` is what both answers share, so the schema holds for either.
TEAM_SCOPE_REFUSED = OpenApiResponse(
    ErrorSerializer,
    description="Every error is a team-scope refusal (another team's model, endpoint or "
    "dataset): the batch error body (`BatchError`), nothing stored. A role that may not "
    "write at all answers DRF's `{detail}` alone",
)
UNSUPPORTED_MEDIA_TYPE = OpenApiResponse(
    ErrorSerializer, description="The body's Content-Type is not one this operation reads"
)
CONFLICT = OpenApiResponse(
    ErrorSerializer,
    description="Conflicts with stored data (e.g. still referenced); the detail says why",
)

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_DEFAULT_ERRORS: dict[str, tuple[str, OpenApiResponse]] = {
    "401": ("auth", OpenApiResponse(ErrorSerializer, description="No valid token or session")),
    "403": ("auth", OpenApiResponse(ErrorSerializer, description="Your role or team may not")),
    "404": ("path", OpenApiResponse(ErrorSerializer, description="Nothing by that name")),
    "400": ("input", FIELD_ERRORS),
    "409": ("delete", CONFLICT),
    "415": ("body", UNSUPPORTED_MEDIA_TYPE),
    "503": (
        "always",
        OpenApiResponse(ErrorSerializer, description="The database is unavailable; retry later"),
    ),
}


def field_may_be_null(*, field: serializers.Field) -> bool:
    """Whether a field can answer null although it does not say allow_null: its default
    is None, or its source walks through a nullable relation or column (say
    `model_version.version` where model_version may be unset)."""
    if field.allow_null or field.default is None:
        return True
    parent = getattr(field, "parent", None)
    model = getattr(getattr(parent, "Meta", None), "model", None)
    if model is None or field.source == "*":
        return False
    for attr in field.source_attrs:
        try:
            model_field = model._meta.get_field(attr)
        except FieldDoesNotExist:
            return False
        if model_field.null:
            return True
        model = model_field.related_model
        if model is None:
            return False
    return False


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's AutoSchema, plus the answers every operation can give beside its
    own: 401/403 where it authenticates, 404 where the path names an object, 400 where
    it reads input (a body, filters or pagination), 415 where it reads a body, 409 on a
    delete (the object is still referenced), and 503
    with Retry-After (kpiboard.api.exception_handler) everywhere. An operation's own
    @extend_schema responses win over these."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        applies = {
            "always": True,
            "auth": self._authenticates(),
            "path": bool(re.search(r"{[^}]+}", self.path)),
            "input": self.method in _BODY_METHODS
            or any(p.get("in") == "query" for p in operation.get("parameters", [])),
            "body": self.method in _BODY_METHODS and "requestBody" in operation,
            "delete": self.method == "DELETE",
        }
        for code, (when, response) in _DEFAULT_ERRORS.items():
            if applies[when] and code not in responses:
                responses[code] = self._get_response_for_code(response, code)
        if "503" in responses:
            responses["503"].setdefault("headers", {}).update(DATABASE_RETRY_AFTER_HEADER)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _get_serializer_field_meta(self, field: Any, direction: str) -> dict[str, Any]:
        meta = super()._get_serializer_field_meta(field, direction)
        if direction == "response" and field_may_be_null(field=field):
            meta["nullable"] = True
        return meta

    def _authenticates(self) -> bool:
        return not all(
            isinstance(permission, permissions.AllowAny)
            for permission in self.view.get_permissions()
        )


# `previous`, read by every KPI endpoint through one parser (`comparison_read`).
PREVIOUS_PARAMETER = OpenApiParameter(
    "previous",
    bool,
    description="true: each KPI that covers a period also carries `previous`, its value over "
    "the period of the same length just before (a KPI whose `compares` is false describes a "
    "state as of now, or one object, and carries none); false or absent: no `previous`.",
)
# The filters every KPI endpoint reads (the shared LifecycleFilterSet dimensions and the
# window) and `previous`, documented once; an endpoint adds its own after them.
KPI_FILTER_PARAMETERS = [
    OpenApiParameter("industry", str, description="Industry name"),
    OpenApiParameter("serving_mode", str, enum=["batch", "streaming"]),
    OpenApiParameter("team", str, description="Team name"),
    OpenApiParameter("model", str, description="Model name"),
    OpenApiParameter("version", str),
    OpenApiParameter("endpoint", str, description="Endpoint name"),
    OpenApiParameter("window", str, enum=["1h", "24h", "7d", "30d", "90d"]),
    OpenApiParameter("start", str, description="ISO 8601 start (instead of window)"),
    OpenApiParameter("end", str, description="ISO 8601 end (instead of window)"),
    PREVIOUS_PARAMETER,
]
