"""The push API: serving events, labels and lifecycle metrics.

The views take the body as bytes (`RawBodyParser`) and parse it themselves, to answer an
oversized body with 413 (Django alone would answer 400), a body sent without a length
with 411, and a wrong type with 415, and to accept NDJSON as well as JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import IO, Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ingestion.events import events_ingest
from ingestion.kserve import kserve_message_ingest
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
from ingestion.validation import (
    BatchRejected,
    IngestResult,
    ItemError,
    body_refusal,
    body_too_large,
)
from lifecycle.catalog.auth import ApiTokenAuthentication, TokenPrincipal
from lifecycle.catalog.jsonbody import JsonRejected, json_parse
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


def _max_bytes() -> int:
    return getattr(settings, "KPIBOARD_INGEST_MAX_BODY_BYTES", 32 * 1024 * 1024)


def _max_items() -> int:
    return getattr(settings, "KPIBOARD_INGEST_MAX_ITEMS", 50_000)


class LengthRequired(exceptions.APIException):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_code = "length_required"


class PushRefused(exceptions.APIException):
    """A push refused before or while its body is read (a parser, an upload handler), in
    the one body every push answers with (`BatchRejected.as_dict`), kept as it is: DRF
    would turn a null index into the text "None"."""

    default_code = "push_refused"

    def __init__(self, rejected: BatchRejected) -> None:
        super().__init__()
        self.status_code = rejected.status
        self.detail = rejected.as_dict()


def push_refused_response(rejected: BatchRejected) -> Response:
    """The answer to a refused push: its one body and status."""
    return Response(rejected.as_dict(), status=rejected.status)


def _bad_body(reason: str, index: int | None = None, field: str = "body") -> PushRefused:
    return PushRefused(body_refusal(reason, field=field, index=index))


def _too_large(reason: str) -> PushRefused:
    return PushRefused(body_too_large(reason))


def body_length_check(meta: dict[str, Any]) -> None:
    """Refuse a body sent without Content-Length (chunked): under WSGI, Django reads such
    a body as empty, and an empty batch must not pass for the one that was sent."""
    if meta.get("HTTP_TRANSFER_ENCODING") and not meta.get("CONTENT_LENGTH"):
        raise LengthRequired(
            "Send the body with a Content-Length header; a chunked body "
            "(Transfer-Encoding: chunked) cannot be read here."
        )


def body_read(request: Any, stream: IO[bytes] | None = None, *, limit: int | None = None) -> bytes:
    """The raw body, refusing more than `limit` (KPIBOARD_INGEST_MAX_BODY_BYTES) with 413
    and a body without a length with 411. `request` is Django's or DRF's."""
    meta = request.META
    body_length_check(meta)
    limit = _max_bytes() if limit is None else limit
    try:
        declared = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise _too_large(f"The body is {declared} bytes; the limit is {limit}.")
    source = stream if stream is not None else getattr(request, "_request", request)
    body = source.read(limit + 1)
    if len(body) > limit:
        raise _too_large(f"The body is over the limit of {limit} bytes.")
    return body


class RawBodyParser(BaseParser):
    """The body as bytes, whatever its type; the view checks the type and parses it.

    Without a parser, DRF answers 415 as soon as anything reads `request.POST`, and the
    CSRF check of a logged-in user's request does: sessions could not push at all."""

    media_type = "*/*"

    def parse(
        self, stream: IO[bytes], media_type: str | None = None, parser_context: Any = None
    ) -> bytes:
        # A view's own `max_body_bytes`, else KPIBOARD_INGEST_MAX_BODY_BYTES.
        limit = getattr(parser_context.get("view"), "max_body_bytes", None)
        return body_read(parser_context["request"], stream, limit=limit)


def push_body(request: Request) -> bytes:
    """The body of a push, read once through RawBodyParser (b"" when none was sent)."""
    body_length_check(request.META)
    data = request.data
    return data if isinstance(data, bytes) else b""


def _json_rejected(
    rejected: JsonRejected, *, key: str, index: int | None = None, line: int | None = None
) -> PushRefused:
    """The parse problems as push errors: index and field of the item, where in it."""
    errors = []
    for problem in rejected.problems:
        path = problem.path
        if path[:1] == (key,):
            path = path[1:]
        at = index
        if at is None and path and isinstance(path[0], int):
            at, path = path[0], path[1:]
        field = str(path[0]) if path else "body"
        inner = ".".join(str(part) for part in path[1:])
        reason = f"{inner}: {problem.reason}" if inner else problem.reason
        if line is not None and problem.path == ():
            reason = f"line {line}: {reason}"
        errors.append(ItemError(at, field, reason))
    return PushRefused(
        BatchRejected(errors, detail="The body could not be read; nothing of it was stored.")
    )


def items_parse(*, body: bytes, content_type: str, key: str) -> list[Any]:
    """A JSON list, {key: [...]}, or NDJSON (one JSON object a line) as a list of items."""
    media = content_type.split(";")[0].strip().lower()
    if media not in JSON_TYPES | NDJSON_TYPES:
        raise exceptions.UnsupportedMediaType(
            media or "(none)",
            detail=f"Send application/json or application/x-ndjson, not {media or 'nothing'}.",
        )
    if not body.strip():
        raise _bad_body("the body is empty; send a JSON list or NDJSON lines")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _bad_body(f"the body is not UTF-8 ({error.reason} at byte {error.start})") from None
    if media in JSON_TYPES:
        try:
            data = json_parse(text)
        except JsonRejected as rejected:
            raise _json_rejected(rejected, key=key) from None
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
                items.append(json_parse(line))
            except JsonRejected as rejected:
                raise _json_rejected(rejected, key=key, index=len(items), line=number) from None
    if len(items) > _max_items():
        raise _too_large(f"{len(items)} items in one batch; the limit is {_max_items()}.")
    return items


class _PushView(APIView):
    parser_classes: Sequence = (RawBodyParser,)
    key: str = ""
    ingest: Callable[..., IngestResult]

    def post(self, request: Request) -> Response:
        items = items_parse(
            body=push_body(request), content_type=request.content_type or "", key=self.key
        )
        try:
            result = type(self).ingest(rows=items, principal=request.user, source="api")
        except BatchRejected as rejected:
            return push_refused_response(rejected)
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

    parser_classes: Sequence = (RawBodyParser,)
    authentication_classes = [
        ApiTokenAuthentication,
        QueryTokenAuthentication,
        SessionAuthentication,
    ]

    @extend_schema(request=KSERVE_BODY, parameters=KSERVE_HEADERS, responses=KSERVE_RESPONSES)
    def post(self, request: Request) -> Response:
        body = push_body(request)
        media = (request.content_type or "").split(";")[0].strip().lower()
        if media and media not in JSON_TYPES:
            raise exceptions.UnsupportedMediaType(media)
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("ce-")}
        try:
            result, pending = kserve_message_ingest(
                headers=headers, body=body, principal=request.user
            )
        except BatchRejected as rejected:
            return push_refused_response(rejected)
        return Response({**result.as_dict(), "pending": pending}, status=status.HTTP_202_ACCEPTED)
