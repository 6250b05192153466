"""KServe's inference logger in: CloudEvents in binary mode, request and response joined
by their shared ce-id, turned into serving events (one per row of a batched request).

KServe sends a request event and, only when the model answered HTTP 200, a response
event. A request whose response has not arrived after
KPIBOARD_KSERVE_RESPONSE_TIMEOUT_SECONDS becomes an error event of class "other".
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ingestion.events import events_store, events_stored, events_validate
from ingestion.models import KServeMessageKind, KServePending
from ingestion.rollups import rollups_schedule
from ingestion.validation import (
    BatchRejected,
    IngestResult,
    ItemError,
    principal_may_push_for,
    timestamp_parse,
)
from lifecycle.catalog.models import (
    Deployment,
    DeploymentRole,
    Endpoint,
    ModelVersion,
    RegisteredModel,
)

logger = logging.getLogger(__name__)

_KINDS = {
    "org.kubeflow.serving.inference.request": KServeMessageKind.REQUEST,
    "org.kubeflow.serving.inference.response": KServeMessageKind.RESPONSE,
}


def _reject(field: str, reason: str) -> BatchRejected:
    return BatchRejected([ItemError(0, field, reason)])


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _request_rows(body: Any) -> list[dict[str, Any] | None]:
    """Features of each row: KServe v1 `instances` (or `inputs`), or Open Inference
    Protocol `inputs` tensors whose first dimension is the batch."""
    if not isinstance(body, dict):
        raise _reject("data", "the request body must be a JSON object")
    instances = body.get("instances")
    if instances is None and isinstance(body.get("inputs"), list):
        tensors = body["inputs"]
        if tensors and all(isinstance(t, dict) and "shape" in t for t in tensors):
            return _tensor_rows(tensors)
        instances = tensors
    if not isinstance(instances, list) or not instances:
        raise _reject("data", "expected v1 `instances` or Open Inference Protocol `inputs`")
    rows: list[dict[str, Any] | None] = []
    for instance in instances:
        if isinstance(instance, dict):
            rows.append({str(k): v for k, v in instance.items() if _scalar(v)})
        elif isinstance(instance, list) and all(_scalar(v) for v in instance):
            rows.append({f"x{j}": v for j, v in enumerate(instance)})
        else:
            rows.append(None)
    return rows


def _flat(data: Any) -> list[Any]:
    if isinstance(data, list):
        return [item for part in data for item in _flat(part)]
    return [data]


def _tensor_rows(tensors: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    batch = None
    for tensor in tensors:
        shape = tensor.get("shape") or [1]
        if batch is None:
            batch = int(shape[0])
        elif int(shape[0]) != batch:
            raise _reject("data", "inputs disagree on the batch size (first dimension)")
    rows: list[dict[str, Any]] = [{} for _ in range(batch or 0)]
    for tensor in tensors:
        shape = [int(s) for s in tensor.get("shape") or [1]]
        data = _flat(tensor.get("data", []))
        width = 1
        for s in shape[1:]:
            width *= s
        name = str(tensor.get("name", "input"))
        if len(data) != batch * width:
            raise _reject("data", f"tensor {name!r} holds {len(data)} values, not {batch * width}")
        for i in range(batch):
            part = data[i * width : (i + 1) * width]
            if width == 1:
                rows[i][name] = part[0]
            else:
                rows[i].update({f"{name}[{j}]": v for j, v in enumerate(part)})
    return rows


def _response_predictions(body: Any, n: int) -> tuple[list[Any], str | None]:
    """Each row's prediction (number or string, else None) and the model version named
    by an Open Inference Protocol response."""
    if not isinstance(body, dict):
        return [None] * n, None
    version = body.get("model_version") if isinstance(body.get("model_version"), str) else None
    values: list[Any] = []
    if isinstance(body.get("predictions"), list):
        values = body["predictions"]
    elif isinstance(body.get("outputs"), list) and body["outputs"]:
        first = body["outputs"][0]
        if isinstance(first, dict):
            data = _flat(first.get("data", []))
            values = data if len(data) == n else []
    predictions = []
    for i in range(n):
        value = values[i] if i < len(values) else None
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        ok = isinstance(value, str) or (
            isinstance(value, int | float) and not isinstance(value, bool)
        )
        predictions.append(value if ok else None)
    return predictions, version


def _version_for(model: RegisteredModel, at: datetime, named: str | None) -> ModelVersion | None:
    """The version a response names, else the one in production at that moment (the
    largest traffic share), else the newest registered before it."""
    if named:
        found = model.versions.filter(version=named).first()
        if found:
            return found
    deployment = (
        Deployment.objects.active_between(at, at)
        .filter(model_version__model=model, role=DeploymentRole.PRODUCTION)
        .select_related("model_version")
        .order_by("-traffic_share", "-started_at")
        .first()
    )
    if deployment:
        return deployment.model_version
    return (
        model.versions.filter(registered_at__lte=at).order_by("-registered_at").first()
        or model.versions.order_by("-registered_at").first()
    )


def _event_rows(request: KServePending, response: KServePending | None) -> list[dict[str, Any]]:
    features = _request_rows(request.body)
    n = len(features)
    model = RegisteredModel.objects.filter(name=request.inference_service).first()
    if model is None:
        raise _reject(
            "ce-inferenceservicename", f"no registered model named {request.inference_service!r}"
        )
    predictions, named = _response_predictions(response.body, n) if response else ([None] * n, None)
    version = _version_for(model, request.event_time, named)
    if version is None:
        raise _reject("ce-inferenceservicename", f"model {model.name!r} has no versions")
    endpoint = next(
        (
            name
            for name in (request.endpoint, request.inference_service)
            if name and Endpoint.objects.filter(name=name).exists()
        ),
        None,
    )
    base: dict[str, Any] = {
        "timestamp": request.event_time.isoformat(),
        "model": model.name,
        "version": version.version,
    }
    if endpoint:
        base["endpoint"] = endpoint
    if response is not None:
        latency = (response.event_time - request.event_time).total_seconds() * 1000
        base.update(status="ok", latency_ms=max(latency, 0.0))
    else:
        base.update(status="error", error_type="other")
    rows = []
    for i in range(n):
        row = dict(base, event_id=request.ce_id if n == 1 else f"{request.ce_id}:{i}")
        if features[i]:
            row["features"] = features[i]
        if predictions[i] is not None:
            row["prediction"] = predictions[i]
        rows.append(row)
    return rows


def _store_pair(request: KServePending, response: KServePending | None) -> IngestResult:
    rows = _event_rows(request, response)
    batch = events_validate(rows=rows, principal=None)
    if batch.errors:
        raise BatchRejected(batch.errors)
    accepted = events_store(events=batch.events)
    if accepted:
        rollups_schedule()
    KServePending.objects.filter(ce_id=request.ce_id).delete()
    return IngestResult(accepted=accepted, repeats=len(batch.events) - accepted)


def kserve_message_ingest(
    *, headers: dict[str, str], body: bytes, principal: Any
) -> tuple[IngestResult, bool]:
    """One CloudEvent of KServe's logger; returns what was stored and whether the message
    waits for its other half."""
    lower = {k.lower(): v for k, v in headers.items()}
    for required in ("ce-id", "ce-type", "ce-specversion", "ce-source", "ce-inferenceservicename"):
        if not lower.get(required):
            raise _reject(required, "is required (binary-mode CloudEvent from KServe's logger)")
    kind = _KINDS.get(lower["ce-type"])
    if kind is None:
        raise _reject("ce-type", f"expected one of {', '.join(_KINDS)}")
    event_time = timezone.now()
    if lower.get("ce-time"):
        parsed = timestamp_parse(lower["ce-time"].replace("Z", "+00:00"))
        if isinstance(parsed, str):
            raise _reject("ce-time", parsed)
        event_time = parsed.astimezone(UTC)
    try:
        data = json.loads(body or b"null")
    except ValueError as error:
        raise _reject("data", f"not valid JSON: {error}") from None
    service = lower["ce-inferenceservicename"]
    model = RegisteredModel.objects.filter(name=service).first()
    if model is None:
        raise _reject("ce-inferenceservicename", f"no registered model named {service!r}")
    if not principal_may_push_for(principal, model):
        raise BatchRejected(
            [
                ItemError(
                    0, "ce-inferenceservicename", f"this token's team may not push for {service!r}"
                )
            ],
            forbidden=True,
        )
    if kind == KServeMessageKind.REQUEST:
        _request_rows(data)  # a malformed request is refused now, not at the timeout
    ce_id = lower["ce-id"]
    if events_stored(event_ids=[ce_id, f"{ce_id}:0"], team_id=model.team_id, model_id=model.pk):
        return IngestResult(0, 1), False  # a redelivery of a pair already stored
    with transaction.atomic():
        message, _ = KServePending.objects.get_or_create(
            ce_id=lower["ce-id"],
            kind=kind,
            defaults={
                "inference_service": service,
                "endpoint": lower.get("ce-endpoint", ""),
                "event_time": event_time,
                "body": data,
                "received_at": timezone.now(),
            },
        )
        other_kind = (
            KServeMessageKind.RESPONSE
            if kind == KServeMessageKind.REQUEST
            else KServeMessageKind.REQUEST
        )
        other = (
            KServePending.objects.select_for_update()
            .filter(ce_id=message.ce_id, kind=other_kind)
            .first()
        )
        if other is None:
            return IngestResult(0, 0), True
        request, response = (
            (message, other) if kind == KServeMessageKind.REQUEST else (other, message)
        )
        return _store_pair(request, response), False


def kserve_pending_expire(*, now: datetime | None = None) -> int:
    """Join pairs that arrived at the same moment, turn requests left unanswered past the
    timeout into error events of class "other", and drop responses whose request never
    came; returns how many events were stored."""
    now = now or timezone.now()
    timeout = timedelta(seconds=settings.KPIBOARD_KSERVE_RESPONSE_TIMEOUT_SECONDS)
    stored = 0
    requests = KServePending.objects.filter(kind=KServeMessageKind.REQUEST)
    responded = KServePending.objects.filter(kind=KServeMessageKind.RESPONSE)
    due = requests.filter(
        Q(ce_id__in=responded.values("ce_id")) | Q(received_at__lt=now - timeout)
    ).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            request = KServePending.objects.select_for_update().filter(pk=pk).first()
            if request is None:
                continue
            response = responded.filter(ce_id=request.ce_id).first()
            try:
                stored += _store_pair(request, response).accepted
            except BatchRejected as rejected:
                logger.warning("KServe message %s dropped: %s", request.ce_id, rejected.errors)
                KServePending.objects.filter(ce_id=request.ce_id).delete()
    orphans = responded.filter(received_at__lt=now - timeout).exclude(
        ce_id__in=requests.values("ce_id")
    )
    dropped, _ = orphans.delete()
    if dropped:
        logger.warning("dropped %s KServe responses whose request never arrived", dropped)
    return stored
