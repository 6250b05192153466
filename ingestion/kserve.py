"""KServe's inference logger in: CloudEvents in binary mode, request and response joined
by their shared ce-id, turned into serving events (one per row of a batched request).

KServe sends a request event and, only when the model answered HTTP 200, a response
event. A request whose response has not arrived after
KPIBOARD_KSERVE_RESPONSE_TIMEOUT_SECONDS becomes an error event of class "other".
"""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from ingestion.events import events_store, events_stored, events_validate
from ingestion.models import KServeMessageKind, KServePending
from ingestion.scheduling import rollups_schedule
from ingestion.unseen import unknown_version_problem
from ingestion.validation import (
    BatchRejected,
    IngestResult,
    ItemError,
    principal_may_push_for,
    principal_token_id,
    timestamp_parse,
)
from lifecycle.catalog.models import (
    Deployment,
    DeploymentRole,
    Endpoint,
    RegisteredModel,
)

logger = logging.getLogger(__name__)

_KINDS = {
    "org.kubeflow.serving.inference.request": KServeMessageKind.REQUEST,
    "org.kubeflow.serving.inference.response": KServeMessageKind.RESPONSE,
}


# The columns of KServePending and ServingEvent that hold these headers.
HEADER_MAX_CHARS = 200


def _reject(field: str, reason: str) -> BatchRejected:
    return BatchRejected([ItemError(0, field, reason)])


def _max_rows() -> int:
    return getattr(settings, "KPIBOARD_INGEST_MAX_ITEMS", 50_000)


def _constant_refuse(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _float_finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is beyond the range of a float")
    return value


def kserve_body_parse(*, body: bytes) -> Any:
    """The JSON body of a KServe message. Python's json reads NaN and Infinity (and turns
    1e999 into infinity), none of which JSON allows or a KPI can sum, so all are refused."""
    try:
        return json.loads(
            body or b"null", parse_constant=_constant_refuse, parse_float=_float_finite
        )
    except RecursionError:
        raise _reject("data", "the JSON is nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, bad UTF-8, 4,300+ digit integers too
        raise _reject("data", f"not valid JSON: {error}") from None


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
        if tensors and any(isinstance(t, dict) and "shape" in t for t in tensors):
            return _tensor_rows(tensors)
        instances = tensors
    if not isinstance(instances, list) or not instances:
        raise _reject("data", "expected v1 `instances` or Open Inference Protocol `inputs`")
    _rows_bound(len(instances))
    rows: list[dict[str, Any] | None] = []
    for instance in instances:
        if isinstance(instance, dict):
            rows.append({str(k): v for k, v in instance.items() if _scalar(v)})
        elif isinstance(instance, list) and all(_scalar(v) for v in instance):
            rows.append({f"x{j}": v for j, v in enumerate(instance)})
        else:
            rows.append(None)
    return rows


def _rows_bound(count: int) -> None:
    if count > _max_rows():
        raise BatchRejected(
            [ItemError(0, "data", f"{count} rows in one message; the limit is {_max_rows()}")],
            status=413,
        )


def _flat(data: Any) -> list[Any]:
    """The values of a (possibly nested) list, depth first; iterative, so no nesting the
    JSON decoder accepted can exhaust the stack."""
    out: list[Any] = []
    stack = [iter(data if isinstance(data, list) else [data])]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            out.append(item)
        else:
            stack.pop()
    return out


def _tensor_shape(tensor: Any, index: int) -> list[int]:
    field = f"inputs[{index}].shape"
    if not isinstance(tensor, dict):
        raise _reject(f"inputs[{index}]", "each input tensor must be an object")
    shape = tensor.get("shape")
    if not isinstance(shape, list) or not shape:
        raise _reject(field, "must be a non-empty list of positive integers")
    for dimension in shape:
        if not isinstance(dimension, int) or isinstance(dimension, bool) or dimension < 1:
            raise _reject(field, f"must be a list of positive integers, not {dimension!r}")
    return shape


def _tensor_rows(tensors: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    """Rows of Open Inference Protocol tensors. Every shape is checked against its data
    before anything is allocated: a declared batch of ten million in a 60-byte body
    must cost nothing."""
    batch: int | None = None
    columns: list[tuple[str, int, list[Any]]] = []
    for index, tensor in enumerate(tensors):
        shape = _tensor_shape(tensor, index)
        if batch is None:
            batch = shape[0]
        elif shape[0] != batch:
            raise _reject(
                f"inputs[{index}].shape",
                f"the batch size (first dimension) {shape[0]} differs from {batch}",
            )
        data = _flat(tensor.get("data", []))
        width = math.prod(shape[1:])
        name = str(tensor.get("name", "input"))
        if len(data) != batch * width:
            raise _reject(
                f"inputs[{index}].data",
                f"tensor {name!r} holds {len(data)} values; its shape {shape} needs "
                f"{batch * width}",
            )
        if not all(_scalar(v) for v in data):
            raise _reject(f"inputs[{index}].data", "must hold numbers, strings, booleans or nulls")
        columns.append((name, width, data))
    # Each row holds at least one value, so the batch is now bounded by the body's size.
    _rows_bound(batch or 0)
    rows: list[dict[str, Any] | None] = [{} for _ in range(batch or 0)]
    for name, width, data in columns:
        for i, row in enumerate(rows):
            part = data[i * width : (i + 1) * width]
            if width == 1:
                row[name] = part[0]
            else:
                row.update({f"{name}[{j}]": v for j, v in enumerate(part)})
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


def _version_for(model: RegisteredModel, at: datetime, named: str | None) -> str | None:
    """The version a response names (one the catalog lacks is left to the rule of every
    source, `unknown_version_problem`, when that would register it), else the one in
    production at that moment (the largest traffic share), else the newest registered
    before it."""
    if named and (
        model.versions.filter(version=named).exists()
        or unknown_version_problem(model=model, name=named) is None
    ):
        return named
    deployment = (
        Deployment.objects.active_between(at, at)
        .filter(model_version__model=model, role=DeploymentRole.PRODUCTION)
        .select_related("model_version")
        .order_by("-traffic_share", "-started_at")
        .first()
    )
    if deployment:
        return deployment.model_version.version
    newest = (
        model.versions.filter(registered_at__lte=at).order_by("-registered_at").first()
        or model.versions.order_by("-registered_at").first()
    )
    return newest.version if newest else None


def _event_rows(request: KServePending, response: KServePending | None) -> list[dict[str, Any]]:
    features = _request_rows(request.body)
    n = len(features)
    model = RegisteredModel.objects.filter(
        name=request.inference_service, team_id=request.team_id
    ).first()
    if model is None:
        raise _reject(
            "ce-inferenceservicename", f"no registered model named {request.inference_service!r}"
        )
    predictions, named = _response_predictions(response.body, n) if response else ([None] * n, None)
    version = _version_for(model, request.event_time, named)
    if version is None:
        raise _reject("ce-inferenceservicename", f"model {model.name!r} has no versions")
    # Only a shared endpoint or one of the model's team: another team's endpoint of the
    # same name is not where this team's model serves.
    usable = Endpoint.objects.filter(Q(team__isnull=True) | Q(team_id=model.team_id))
    endpoint = next(
        (
            name
            for name in (request.endpoint, request.inference_service)
            if name and usable.filter(name=name).exists()
        ),
        None,
    )
    base: dict[str, Any] = {
        "timestamp": request.event_time.isoformat(),
        "model": model.name,
        "version": version,
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


def _store_pair(
    request: KServePending, response: KServePending | None, *, pushed_by_id: int | None = None
) -> IngestResult:
    """`pushed_by_id`: the token of the message that completed the pair (None when the
    expiry sweep stores a request left unanswered)."""
    rows = _event_rows(request, response)
    batch = events_validate(rows=rows, principal=None)
    if batch.errors:
        raise BatchRejected(batch.errors)
    accepted = events_store(events=batch.events, pushed_by_id=pushed_by_id, unseen=batch.unseen)
    if accepted:
        rollups_schedule()
    KServePending.objects.filter(team_id=request.team_id, ce_id=request.ce_id).delete()
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
    for field in ("ce-id", "ce-inferenceservicename", "ce-endpoint"):
        if len(lower.get(field, "")) > HEADER_MAX_CHARS:
            raise _reject(field, f"is over {HEADER_MAX_CHARS} characters")
    kind = _KINDS.get(lower["ce-type"])
    if kind is None:
        raise _reject("ce-type", f"expected one of {', '.join(_KINDS)}")
    event_time = timezone.now()
    if lower.get("ce-time"):
        parsed = timestamp_parse(lower["ce-time"].replace("Z", "+00:00"))
        if isinstance(parsed, str):
            raise _reject("ce-time", parsed)
        event_time = parsed.astimezone(UTC)
    data = kserve_body_parse(body=body)
    service = lower["ce-inferenceservicename"]
    model = RegisteredModel.objects.filter(name=service).first()
    if model is None:
        raise _reject("ce-inferenceservicename", f"no registered model named {service!r}")
    if not principal_may_push_for(principal, model):
        raise BatchRejected(
            [
                ItemError(
                    0,
                    "ce-inferenceservicename",
                    f"this token's team may not push for {service!r}",
                    forbidden=True,
                )
            ]
        )
    ce_id = lower["ce-id"]
    if kind == KServeMessageKind.REQUEST:
        rows = _request_rows(data)  # a malformed request is refused now, not at the timeout
        if len(rows) > 1 and len(f"{ce_id}:{len(rows) - 1}") > HEADER_MAX_CHARS:
            raise _reject(
                "ce-id",
                f"is too long for a batch of {len(rows)} rows: each row's event id is "
                f"<ce-id>:<row>, at most {HEADER_MAX_CHARS} characters",
            )
    if events_stored(event_ids=[ce_id, f"{ce_id}:0"], team_id=model.team_id, model_id=model.pk):
        return IngestResult(0, 1), False  # a redelivery of a pair already stored
    with transaction.atomic():
        message, _ = KServePending.objects.get_or_create(
            team_id=model.team_id,
            ce_id=ce_id,
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
            .filter(team_id=message.team_id, ce_id=message.ce_id, kind=other_kind)
            .first()
        )
        if other is None:
            return IngestResult(0, 0), True
        request, response = (
            (message, other) if kind == KServeMessageKind.REQUEST else (other, message)
        )
        return _store_pair(request, response, pushed_by_id=principal_token_id(principal)), False


def kserve_pending_expire(*, now: datetime | None = None) -> int:
    """Join pairs that arrived at the same moment, turn requests left unanswered past the
    timeout into error events of class "other", and drop responses whose request never
    came; returns how many events were stored."""
    now = now or timezone.now()
    timeout = timedelta(seconds=settings.KPIBOARD_KSERVE_RESPONSE_TIMEOUT_SECONDS)
    stored = 0
    requests = KServePending.objects.filter(kind=KServeMessageKind.REQUEST)
    responded = KServePending.objects.filter(kind=KServeMessageKind.RESPONSE)
    # Halves pair up only within one team: another team's ce-id is another message.
    has_response = Exists(responded.filter(team_id=OuterRef("team_id"), ce_id=OuterRef("ce_id")))
    has_request = Exists(requests.filter(team_id=OuterRef("team_id"), ce_id=OuterRef("ce_id")))
    due = requests.filter(has_response | Q(received_at__lt=now - timeout)).values_list(
        "pk", flat=True
    )
    for pk in list(due):
        with transaction.atomic():
            request = KServePending.objects.select_for_update().filter(pk=pk).first()
            if request is None:
                continue
            response = responded.filter(team_id=request.team_id, ce_id=request.ce_id).first()
            try:
                stored += _store_pair(request, response).accepted
            except BatchRejected as rejected:
                logger.warning("KServe message %s dropped: %s", request.ce_id, rejected.errors)
                KServePending.objects.filter(team_id=request.team_id, ce_id=request.ce_id).delete()
    orphans = responded.filter(received_at__lt=now - timeout).exclude(has_request)
    dropped, _ = orphans.delete()
    if dropped:
        logger.warning("dropped %s KServe responses whose request never arrived", dropped)
    return stored
