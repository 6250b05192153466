"""The push API: serving events, labels and lifecycle metrics.

The views read the body themselves instead of through DRF's parsers, to answer an
oversized body with 413 (Django alone would answer 400) and a wrong type with 415, and
to accept NDJSON as well as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ingestion.events import events_ingest
from ingestion.kserve import KServeTooLarge, kserve_message_ingest
from ingestion.labels import labels_ingest, metrics_ingest
from ingestion.schema import (
    KSERVE_BODY,
    KSERVE_HEADERS,
    KSERVE_RESPONSES,
    PUSH_RESPONSES,
    LabelSerializer,
    MetricSerializer,
    ServingEventSerializer,
    push_request,
)
from ingestion.validation import BatchRejected, IngestResult, ItemError
from lifecycle.catalog.auth import ApiTokenAuthentication, TokenPrincipal
from lifecycle.catalog.models import ApiToken
from lifecycle.catalog.tokens import api_token_authenticate

JSON_TYPES = frozenset({"application/json"})
NDJSON_TYPES = frozenset(
    {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonlines",
        "application/json-lines",
    }
)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


def _max_bytes() -> int:
    return getattr(settings, "KPIBOARD_INGEST_MAX_BODY_BYTES", 32 * 1024 * 1024)


def _max_items() -> int:
    return getattr(settings, "KPIBOARD_INGEST_MAX_ITEMS", 50_000)


def _bad_body(reason: str, index: int | None = None) -> BatchRejected:
    # The batch error body, like any other rejected push: a ValidationError would turn
    # the index into a string and leave out error_count.
    return BatchRejected([ItemError(index, "body", reason)])  # type: ignore[arg-type]


def body_read(request: Request) -> bytes:
    """The raw body, refusing more than KPIBOARD_INGEST_MAX_BODY_BYTES with 413."""
    limit = _max_bytes()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise PayloadTooLarge(f"The body is {declared} bytes; the limit is {limit}.")
    body = request._request.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(f"The body is over the limit of {limit} bytes.")
    return body


def items_parse(*, body: bytes, content_type: str, key: str) -> list[Any]:
    """A JSON list, {key: [...]}, or NDJSON (one JSON object a line) as a list of items."""
    media = content_type.split(";")[0].strip().lower()
    if media not in JSON_TYPES | NDJSON_TYPES:
        raise exceptions.UnsupportedMediaType(
            media or "(none)",
            detail=f"Send application/json or application/x-ndjson, not {media or 'nothing'}.",
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _bad_body(f"the body is not UTF-8 ({error.reason} at byte {error.start})") from None
    if media in JSON_TYPES:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise _bad_body(f"not valid JSON: {error.msg} at line {error.lineno}") from None
        if isinstance(data, dict) and isinstance(data.get(key), list) and len(data) == 1:
            data = data[key]
        if not isinstance(data, list):
            raise _bad_body(f'expected a JSON list or {{"{key}": [...]}}')
        items = data
    else:
        items = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise _bad_body(
                    f"line {number} is not valid JSON: {error.msg}", len(items)
                ) from None
    if len(items) > _max_items():
        raise PayloadTooLarge(f"{len(items)} items in one batch; the limit is {_max_items()}.")
    return items


class _PushView(APIView):
    parser_classes: Sequence = ()
    key: str = ""
    ingest: Callable[..., IngestResult]

    def post(self, request: Request) -> Response:
        try:
            items = items_parse(
                body=body_read(request), content_type=request.content_type, key=self.key
            )
            result = type(self).ingest(rows=items, principal=request.user, source="api")
        except BatchRejected as rejected:
            code = status.HTTP_403_FORBIDDEN if rejected.forbidden else status.HTTP_400_BAD_REQUEST
            return Response(rejected.as_dict(), status=code)
        return Response(result.as_dict(), status=status.HTTP_202_ACCEPTED)


class EventsPushView(_PushView):
    """Push serving events (SPEC.md's field table): a JSON list, {"events": [...]}, or
    NDJSON. Each event_id is stored once; a batch is stored whole or not at all."""

    key = "events"
    ingest = staticmethod(events_ingest)

    @extend_schema(request=push_request(ServingEventSerializer, "events"), responses=PUSH_RESPONSES)
    def post(self, request: Request) -> Response:
        return super().post(request)


class LabelsPushView(_PushView):
    """Push labels: event_id, label, timestamp, optional model; joined by event_id to
    the events of the label's team (docs/ingestion.md says which team that is)."""

    key = "labels"
    ingest = staticmethod(labels_ingest)

    @extend_schema(request=push_request(LabelSerializer, "labels"), responses=PUSH_RESPONSES)
    def post(self, request: Request) -> Response:
        return super().post(request)


class MetricsPushView(_PushView):
    """Push lifecycle metrics: model, optional version, phase, name, value, timestamp,
    optional dimensions and metric_id."""

    key = "metrics"
    ingest = staticmethod(metrics_ingest)

    @extend_schema(request=push_request(MetricSerializer, "metrics"), responses=PUSH_RESPONSES)
    def post(self, request: Request) -> Response:
        return super().post(request)


class QueryTokenAuthentication(ApiTokenAuthentication):
    """`?token=<key>` for KServe's logger, which sends no headers of its own (its spec has
    a URL but no headers); `KPIBOARD_KSERVE_QUERY_TOKEN = False` refuses it where a proxy
    adds the Authorization header instead. Logs redact it (kpiboard.logs)."""

    def authenticate(self, request: Request) -> tuple[TokenPrincipal, ApiToken] | None:
        key = request.query_params.get("token")
        if not key:
            return None
        if not getattr(settings, "KPIBOARD_KSERVE_QUERY_TOKEN", True):
            raise exceptions.AuthenticationFailed(
                "?token= is turned off here (KPIBOARD_KSERVE_QUERY_TOKEN); send "
                "`Authorization: Token <key>`."
            )
        token = api_token_authenticate(key=key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired API token.")
        return TokenPrincipal(token), token


class QueryTokenScheme(OpenApiAuthenticationExtension):
    """Documents `?token=` in the OpenAPI schema."""

    target_class = "ingestion.api.QueryTokenAuthentication"
    name = "queryToken"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {"type": "apiKey", "in": "query", "name": "token"}


class KServeEventsView(APIView):
    """KServe's inference logger (binary-mode CloudEvents, ce-* headers). Point the
    InferenceService's `logger.url` here. Authenticate with `Authorization: Token <key>`
    when a proxy or mesh in between can add it, else with `?token=<key>` (KServe's logger
    cannot send headers). Request and response join by ce-id within the model's team."""

    parser_classes: Sequence = ()
    authentication_classes = [
        ApiTokenAuthentication,
        QueryTokenAuthentication,
        SessionAuthentication,
    ]

    @extend_schema(request=KSERVE_BODY, parameters=KSERVE_HEADERS, responses=KSERVE_RESPONSES)
    def post(self, request: Request) -> Response:
        body = body_read(request)
        media = (request.content_type or "").split(";")[0].strip().lower()
        if media and media not in JSON_TYPES:
            raise exceptions.UnsupportedMediaType(media)
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("ce-")}
        try:
            result, pending = kserve_message_ingest(
                headers=headers, body=body, principal=request.user
            )
        except KServeTooLarge as rejected:
            return Response(rejected.as_dict(), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        except BatchRejected as rejected:
            code = status.HTTP_403_FORBIDDEN if rejected.forbidden else status.HTTP_400_BAD_REQUEST
            return Response(rejected.as_dict(), status=code)
        return Response({**result.as_dict(), "pending": pending}, status=status.HTTP_202_ACCEPTED)
