"""MLflow's webhooks: the exact time of a change, preferred over a poll's interval.

MLflow signs each delivery (Standard Webhooks style): `X-MLflow-Signature` is
`v1,<base64 HMAC-SHA256>` of `<delivery id>.<timestamp>.<body>` under the webhook's
secret. A delivery older than the tolerance is refused (a replay), a repeated delivery id
changes nothing. When the poll saw the same change first, the webhook's entry supersedes
the polled one and a deployment the poll started is moved to the exact time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from ingestion.registry.ledger import (
    catalog_model_ensure,
    catalog_version_ensure,
    change_record,
    deployment_start,
    deployment_stop,
    traffic_share_for,
)
from lifecycle.catalog.jsonbody import JsonRejected, json_parse
from lifecycle.catalog.models import Deployment, DeploymentRole, ModelVersion, RegisteredModel
from lifecycle.catalog.times import time_from_unix, time_parse
from lifecycle.deployment.models import (
    ChangeKind,
    ChangeSource,
    LifecycleChange,
    Registry,
    RegistryVersionState,
)

SIGNATURE_HEADER = "X-MLflow-Signature"
DELIVERY_HEADER = "X-MLflow-Delivery-Id"
TIMESTAMP_HEADER = "X-MLflow-Timestamp"
TOLERANCE = timedelta(minutes=5)
MAX_BODY_BYTES = 1024 * 1024


class WebhookRejected(Exception):
    def __init__(self, status: int, field: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.field = field
        self.reason = reason

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


@dataclass(frozen=True)
class WebhookResult:
    action: str
    changes: int
    repeat: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "changes": self.changes, "repeat": self.repeat}


def webhook_signature(*, secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    signed = delivery_id.encode() + b"." + timestamp.encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_verify(
    *, registry: Registry | None, headers: dict[str, str], body: bytes, now: datetime
) -> datetime:
    """Check the delivery is signed by the registry's secret and fresh; returns the
    signed time of the delivery."""
    if registry is None or not registry.webhook_secret:
        raise WebhookRejected(404, "registry", "no registry of this name takes webhooks")
    if len(body) > MAX_BODY_BYTES:
        raise WebhookRejected(413, "body", f"larger than {MAX_BODY_BYTES} bytes")
    for header in (SIGNATURE_HEADER, DELIVERY_HEADER, TIMESTAMP_HEADER):
        if not headers.get(header):
            raise WebhookRejected(401, header, "missing")
    stamp = headers[TIMESTAMP_HEADER]
    if not (stamp.isascii() and stamp.isdigit()):
        raise WebhookRejected(400, TIMESTAMP_HEADER, "must be Unix seconds")
    signed_at = time_from_unix(stamp, now=now)
    if isinstance(signed_at, str) or abs(now - signed_at) > TOLERANCE:
        raise WebhookRejected(400, TIMESTAMP_HEADER, "too far from now (a replay?)")
    expected = webhook_signature(
        secret=registry.webhook_secret,
        delivery_id=headers[DELIVERY_HEADER],
        timestamp=stamp,
        body=body,
    )
    # The header may list several signatures (secret rotation), separated by blanks.
    offered = headers[SIGNATURE_HEADER].split()
    if not any(hmac.compare_digest(expected, candidate) for candidate in offered):
        raise WebhookRejected(401, SIGNATURE_HEADER, "does not match the registry's secret")
    return signed_at


def registry_webhook_receive(
    *, registry_name: str, headers: dict[str, str], body: bytes, now: datetime
) -> WebhookResult:
    registry = Registry.objects.filter(name=registry_name).select_related("deploy_endpoint").first()
    signed_at = webhook_verify(registry=registry, headers=headers, body=body, now=now)
    assert registry is not None
    try:
        payload = json_parse(body)
    except JsonRejected as exc:
        problem = exc.problems[0]
        raise WebhookRejected(400, problem.field or "body", problem.reason) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        raise WebhookRejected(400, "data", "must be an object")
    action = f"{payload.get('entity')}.{payload.get('action')}"
    at = _payload_time(payload.get("timestamp")) or signed_at
    delivery = headers[DELIVERY_HEADER][:200]
    with transaction.atomic():
        if LifecycleChange.objects.filter(
            source=ChangeSource.WEBHOOK, external_id=delivery
        ).exists():
            return WebhookResult(action, 0, repeat=True)
        handler = _HANDLERS.get(action)
        if handler is None:
            return WebhookResult(action, 0)  # an event kpiboard has no use for
        receiver = _Receiver(registry, at, delivery)
        handler(receiver, payload["data"])
        return WebhookResult(action, receiver.changes)


def _payload_time(value: Any) -> datetime | None:
    """The payload's own ISO time, signed with it and finer than the header's seconds;
    None (the signed time is taken) when it is missing, unreadable or out of range, since
    refusing the delivery would only make MLflow send it again."""
    parsed = time_parse(value)
    return parsed if isinstance(parsed, datetime) else None


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str | int) or value == "":
        raise WebhookRejected(400, f"data.{name}", "is required")
    return str(value)


class _Receiver:
    def __init__(self, registry: Registry, at: datetime, delivery: str) -> None:
        self.registry = registry
        self.at = at
        self.delivery = delivery
        self.changes = 0

    def record(self, kind: str, model: RegisteredModel, **fields: Any) -> LifecycleChange:
        # Only the first entry of a delivery carries its id, which makes the repeat check.
        external_id = "" if self.changes else self.delivery
        self.changes += 1
        return change_record(
            kind=kind,
            source=ChangeSource.WEBHOOK,
            external_id=external_id,
            registry=self.registry,
            model=model,
            happened_after=self.at,
            happened_before=self.at,
            **fields,
        )

    def polled(self, kind: str, version: ModelVersion, **match: Any) -> LifecycleChange | None:
        """The poll's entry for the same change, if the poll saw it first."""
        return (
            LifecycleChange.objects.current()
            .filter(
                source=ChangeSource.POLL,
                kind=kind,
                model_version=version,
                happened_after__lte=self.at,
                happened_before__gte=self.at,
                **match,
            )
            .first()
        )

    def model(self, name: str, tags: dict[str, str] | None = None) -> RegisteredModel:
        return catalog_model_ensure(registry=self.registry, name=name, tags=tags or {})

    def version(self, name: str, number: str) -> ModelVersion | None:
        return ModelVersion.objects.filter(model__name=name, version=number).first()

    def state(self, name: str, number: str) -> RegistryVersionState | None:
        return RegistryVersionState.objects.filter(
            registry=self.registry, model_name=name, version=number
        ).first()

    def model_created(self, data: dict[str, Any]) -> None:
        tags = data.get("tags") if isinstance(data.get("tags"), dict) else {}
        self.model(_text(data, "name"), {str(k): str(v) for k, v in tags.items()})

    def version_created(self, data: dict[str, Any]) -> None:
        name, number = _text(data, "name"), _text(data, "version")
        model = self.model(name)
        version = self.version(name, number)
        if version is None or version.seen_in_serving_at is not None:
            version = catalog_version_ensure(
                model=model,
                version=number,
                registered_at=self.at,
                run_id=str(data.get("run_id") or ""),
                description=str(data.get("description") or ""),
            )
        if LifecycleChange.objects.filter(
            kind=ChangeKind.REGISTERED, model_version=version
        ).exists():
            return
        self.record(
            ChangeKind.REGISTERED,
            model,
            model_version=version,
            new_value=number,
            detail={"run_id": str(data.get("run_id") or "")},
        )

    def alias_created(self, data: dict[str, Any]) -> None:
        name, alias, number = _text(data, "name"), _text(data, "alias"), _text(data, "version")
        version = self.version(name, number)
        if version is None:
            return  # not in the catalog yet: the poll will bring it, with an interval
        role = self.registry.role_of_alias(alias)
        # The alias leaves whichever version held it.
        for state in RegistryVersionState.objects.filter(
            registry=self.registry, model_name=name, deleted=False
        ).exclude(version=number):
            if alias in state.aliases:
                state.aliases = [a for a in state.aliases if a != alias]
                state.save(update_fields=["aliases"])
                old = self.version(name, state.version)
                if old is not None:
                    self.record(
                        ChangeKind.ALIAS_REMOVED,
                        version.model,
                        model_version=old,
                        key=alias,
                        old_value=state.version,
                        role=role,
                        supersedes=self.polled(ChangeKind.ALIAS_REMOVED, old, key=alias),
                    )
        self.record(
            ChangeKind.ALIAS_SET,
            version.model,
            model_version=version,
            key=alias,
            new_value=number,
            role=role,
            supersedes=self.polled(ChangeKind.ALIAS_SET, version, key=alias),
        )
        state = self.state(name, number)
        if state is not None and alias not in state.aliases:
            state.aliases = sorted([*state.aliases, alias])
            state.save(update_fields=["aliases"])
        if role and self.registry.deploy_endpoint is not None:
            self.deploy(version, role)

    def deploy(self, version: ModelVersion, role: str) -> None:
        endpoint = self.registry.deploy_endpoint
        assert endpoint is not None
        polled = (
            LifecycleChange.objects.current()
            .filter(
                source=ChangeSource.POLL,
                kind__in=(ChangeKind.DEPLOYED, ChangeKind.ROLLED_BACK),
                model_version=version,
                role=role,
                endpoint=endpoint,
                happened_after__lte=self.at,
                happened_before__gte=self.at,
                deployment__isnull=False,
            )
            .select_related("deployment")
            .first()
        )
        if polled is not None:
            # The poll started the deployment at the end of its interval; the webhook
            # knows when it really happened.
            deployment = polled.deployment
            replaced = list(Deployment.objects.filter(pk__in=polled.detail.get("replaced", [])))
            for old in replaced:
                if old.started_at < self.at:
                    old.ended_at = self.at
                    old.save(update_fields=["ended_at"])
            if deployment.ended_at is None or deployment.ended_at > self.at:
                deployment.started_at = self.at
                deployment.save(update_fields=["started_at"])
            kind = polled.kind
        else:
            deployment, replaced = deployment_start(
                version=version,
                endpoint=endpoint,
                role=role,
                at=self.at,
                traffic_share=traffic_share_for(role),
            )
            if deployment.started_at != self.at:
                return  # already deployed before this moment
            newer = any(old.model_version.registered_at > version.registered_at for old in replaced)
            kind = (
                ChangeKind.ROLLED_BACK
                if role == DeploymentRole.PRODUCTION and newer
                else ChangeKind.DEPLOYED
            )
        self.record(
            kind,
            version.model,
            model_version=version,
            role=role,
            endpoint=endpoint,
            deployment=deployment,
            supersedes=polled,
            detail={"replaced": [old.pk for old in replaced]},
        )

    def alias_deleted(self, data: dict[str, Any]) -> None:
        name, alias = _text(data, "name"), _text(data, "alias")
        holder = next(
            (
                s
                for s in RegistryVersionState.objects.filter(
                    registry=self.registry, model_name=name, deleted=False
                )
                if alias in s.aliases
            ),
            None,
        )
        if holder is None:
            return
        version = self.version(name, holder.version)
        holder.aliases = [a for a in holder.aliases if a != alias]
        holder.save(update_fields=["aliases"])
        if version is None:
            return
        role = self.registry.role_of_alias(alias)
        self.record(
            ChangeKind.ALIAS_REMOVED,
            version.model,
            model_version=version,
            key=alias,
            old_value=holder.version,
            role=role,
            supersedes=self.polled(ChangeKind.ALIAS_REMOVED, version, key=alias),
        )
        endpoint = self.registry.deploy_endpoint
        if role and endpoint is not None:
            for deployment in deployment_stop(
                version=version, endpoint=endpoint, role=role, at=self.at
            ):
                self.record(
                    ChangeKind.UNDEPLOYED,
                    version.model,
                    model_version=version,
                    role=role,
                    endpoint=endpoint,
                    deployment=deployment,
                )

    def tag_set(self, data: dict[str, Any], *, removed: bool = False) -> None:
        name, number, key = _text(data, "name"), _text(data, "version"), _text(data, "key")
        version = self.version(name, number)
        if version is None:
            return
        value = "" if removed else str(data.get("value", ""))
        state = self.state(name, number)
        old = (state.tags if state else {}).get(key, "")
        if state is not None:
            tags = dict(state.tags)
            if removed:
                tags.pop(key, None)
            else:
                tags[key] = value
            state.tags = tags
            state.save(update_fields=["tags"])
        kind = ChangeKind.TAG_REMOVED if removed else ChangeKind.TAG_SET
        self.record(
            kind,
            version.model,
            model_version=version,
            key=key,
            old_value=old,
            new_value=value,
            supersedes=self.polled(kind, version, key=key),
        )


_HANDLERS = {
    "registered_model.created": _Receiver.model_created,
    "model_version.created": _Receiver.version_created,
    "model_version_alias.created": _Receiver.alias_created,
    "model_version_alias.deleted": _Receiver.alias_deleted,
    "model_version_tag.set": _Receiver.tag_set,
    "model_version_tag.deleted": lambda receiver, data: receiver.tag_set(data, removed=True),
}
