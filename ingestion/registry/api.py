"""HTTP entry points of the registry ingestion: pushed events, webhooks, sync on demand."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ingestion.api import body_length_check, push_refused_response
from ingestion.registry.events import registry_events_ingest
from ingestion.registry.tasks import registry_poll
from ingestion.registry.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookRejected,
    registry_webhook_receive,
)
from ingestion.schema import (
    REGISTRY_EVENTS_RESPONSES,
    WEBHOOK_HEADERS,
    WEBHOOK_RESPONSES,
    RegistryEventSerializer,
)
from ingestion.validation import BatchRejected, body_too_large
from lifecycle.catalog.jsonbody import StrictJSONParser
from lifecycle.catalog.models import Role
from lifecycle.catalog.roles import role_of
from lifecycle.catalog.schema import PushBatchSerializer
from lifecycle.deployment.models import Registry

MAX_EVENTS_BODY_BYTES = 4 * 1024 * 1024


class AdminsOnly(permissions.BasePermission):
    message = "Only admins configure and run registries."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return role_of(request.user) == Role.ADMIN


class RegistryEventsView(APIView):
    """Registry events from registries kpiboard does not poll."""

    parser_classes = [StrictJSONParser]

    @extend_schema(
        request={
            "application/json": PushBatchSerializer(
                item=RegistryEventSerializer, key="events", single=True
            )
        },
        responses=REGISTRY_EVENTS_RESPONSES,
        description='One event, a list, or {"events": [...]}; fields: event_id, event '
        "(registered, promoted, deployed, rolled_back, archived), timestamp, model, version, "
        "and as they apply registry, endpoint, role, traffic_share, alias, outcome "
        "(succeeded/failed), reason, run_id, run_ended_at, description.",
    )
    def post(self, request: Request) -> Response:
        body_length_check(request.META)
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > MAX_EVENTS_BODY_BYTES:
            # Django alone would answer an oversized body with a bare 400.
            return push_refused_response(
                body_too_large(f"The body is {length} bytes; the limit is {MAX_EVENTS_BODY_BYTES}.")
            )
        try:
            result = registry_events_ingest(payload=request.data, principal=request.user)
        except BatchRejected as rejected:
            return push_refused_response(rejected)
        return Response(result.as_dict(), status=status.HTTP_200_OK)


class RegistryWebhookView(APIView):
    """MLflow's webhook deliveries; authenticated by their HMAC signature, not a token."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=WEBHOOK_HEADERS,
        responses=WEBHOOK_RESPONSES,
    )
    def post(self, request: Request, name: str) -> Response:
        body_length_check(request.META)
        headers = {
            header: request.headers.get(header, "")
            for header in (SIGNATURE_HEADER, DELIVERY_HEADER, TIMESTAMP_HEADER)
        }
        try:
            result = registry_webhook_receive(
                registry_name=name, headers=headers, body=request.body, now=timezone.now()
            )
        except WebhookRejected as exc:
            return Response(exc.as_dict(), status=exc.status)
        return Response(result.as_dict())


class RegistrySyncView(APIView):
    """Queue a poll of one registry now."""

    permission_classes = [AdminsOnly]

    @extend_schema(
        request=None,
        responses={
            202: OpenApiResponse(
                inline_serializer("RegistrySyncQueued", {"queued": serializers.CharField()}),
                description="A poll of the registry is queued",
            )
        },
    )
    def post(self, request: Request, name: str) -> Response:
        registry = get_object_or_404(Registry, name=name)
        registry_poll.delay(registry.pk)
        return Response({"queued": registry.name}, status=status.HTTP_202_ACCEPTED)
