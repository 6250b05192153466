"""A model's deployment history in one list: registrations, promotions, deployments,
rollbacks, failures and incidents, each with the interval it is known to lie in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from lifecycle.catalog.models import Deployment, RegisteredModel, RollupGranularity
from lifecycle.catalog.serving.scope import serving_scope_where
from lifecycle.catalog.serving.sums import ERROR_COLUMNS, serving_totals
from lifecycle.catalog.windows import TimeRange
from lifecycle.deployment.models import ChangeKind, LifecycleChange

# An hour counts as an incident when at least this many inferences failed and the error
# rate passed the model's SLA (or this default when it has none).
INCIDENT_MIN_ERRORS = 5
INCIDENT_DEFAULT_ERROR_RATE = 0.05
_TIMELINE_KINDS = (
    ChangeKind.REGISTERED,
    ChangeKind.PROMOTED,
    ChangeKind.ALIAS_SET,
    ChangeKind.ALIAS_REMOVED,
    ChangeKind.STAGE_CHANGED,
    ChangeKind.DEPLOYED,
    ChangeKind.ROLLED_BACK,
    ChangeKind.UNDEPLOYED,
    ChangeKind.DEPLOYMENT_FAILED,
    ChangeKind.ARCHIVED,
    ChangeKind.DELETED,
)


@dataclass(frozen=True)
class TimelineEntry:
    kind: str
    label: str
    version: str
    after: datetime
    before: datetime
    source: str
    detail: str

    @property
    def exact(self) -> bool:
        return self.after == self.before

    @property
    def uncertainty(self) -> timedelta:
        return self.before - self.after


def change_sentence(change: LifecycleChange) -> str:
    """What a ledger change says on the timeline, e.g. "Failed to deploy as production on
    scoring: role could not read the model" or "champion as production on scoring"."""
    parts = []
    if change.kind == ChangeKind.DEPLOYMENT_FAILED:
        parts.append("Failed to deploy")
    elif change.key:
        parts.append(change.key)
    if change.kind == ChangeKind.STAGE_CHANGED:
        parts.append(f"{change.old_value} → {change.new_value}")
    if change.role:
        parts.append(f"as {change.role}")
    if change.endpoint:
        parts.append(f"on {change.endpoint.name}")
    sentence = " ".join(parts)
    reason = str((change.detail or {}).get("reason", "")).strip()
    if reason:
        return f"{sentence}: {reason}" if sentence else reason
    if change.kind == ChangeKind.DEPLOYMENT_FAILED:
        return f"{sentence}."
    return sentence


def model_timeline(*, model: RegisteredModel, time_range: TimeRange) -> list[TimelineEntry]:
    entries = []
    changes = (
        LifecycleChange.objects.current()
        .filter(model=model, kind__in=_TIMELINE_KINDS)
        .filter(happened_before__gte=time_range.start, happened_after__lt=time_range.end)
        .select_related("model_version", "endpoint")
    )
    for change in changes:
        entries.append(
            TimelineEntry(
                kind=change.kind,
                label=change.get_kind_display(),
                version=change.model_version.version if change.model_version else "",
                after=change.happened_after,
                before=change.happened_before,
                source=change.get_source_display(),
                detail=change_sentence(change),
            )
        )
    # Versions registered before kpiboard kept a ledger still belong on the timeline.
    logged = {e.version for e in entries if e.kind == ChangeKind.REGISTERED}
    for version in model.versions.filter(
        registered_at__gte=time_range.start, registered_at__lt=time_range.end
    ).exclude(version__in=logged):
        entries.append(
            TimelineEntry(
                ChangeKind.REGISTERED,
                "Version registered",
                version.version,
                version.registered_at,
                version.registered_at,
                "catalog",
                "",
            )
        )
    logged_deployments = set(
        changes.filter(deployment__isnull=False).values_list("deployment_id", flat=True)
    )
    deployments = list(
        Deployment.objects.filter(model_version__model=model).select_related(
            "model_version", "endpoint"
        )
    )
    for d in deployments:
        if d.pk in logged_deployments:
            continue
        if time_range.start <= d.started_at < time_range.end:
            # Replacing a newer version in the same role on the same endpoint: a rollback.
            replaced = [
                o
                for o in deployments
                if o.endpoint_id == d.endpoint_id
                and o.role == d.role
                and o.ended_at == d.started_at
            ]
            rollback = d.role == "production" and any(
                o.model_version.registered_at > d.model_version.registered_at for o in replaced
            )
            entries.append(
                TimelineEntry(
                    ChangeKind.ROLLED_BACK if rollback else ChangeKind.DEPLOYED,
                    "Rolled back" if rollback else "Deployed",
                    d.model_version.version,
                    d.started_at,
                    d.started_at,
                    "catalog",
                    f"as {d.role} on {d.endpoint.name}",
                )
            )
        if d.ended_at is not None and time_range.start <= d.ended_at < time_range.end:
            entries.append(
                TimelineEntry(
                    ChangeKind.UNDEPLOYED,
                    "Undeployed",
                    d.model_version.version,
                    d.ended_at,
                    d.ended_at,
                    "catalog",
                    f"{d.role} on {d.endpoint.name} ended",
                )
            )
    entries.extend(model_incidents(model=model, time_range=time_range))
    return sorted(entries, key=lambda e: (e.before, e.kind))


def model_incidents(*, model: RegisteredModel, time_range: TimeRange) -> list[TimelineEntry]:
    """The hours of the window (per version) that count as incidents, from the hour
    rollups, and the failure class most of their errors had."""
    threshold = (
        model.sla_error_rate if model.sla_error_rate is not None else INCIDENT_DEFAULT_ERROR_RATE
    )
    hours = serving_totals(
        serving_scope_where(time_range=time_range, model_id=model.pk),
        group_by=["model_version__version"],
        series=RollupGranularity.HOUR,
        sums=("inferences", "errors", *ERROR_COLUMNS),
    )
    incidents = []
    for (version, hour), (total, errors, *per_class) in sorted(hours.items()):
        if errors < INCIDENT_MIN_ERRORS or errors / total <= threshold:
            continue
        # The most frequent class; a tie goes to the class first in name order.
        counts = sorted(zip(ERROR_COLUMNS.values(), per_class, strict=True))
        top = max(counts, key=lambda pair: pair[1])[0]
        incidents.append(
            TimelineEntry(
                "incident",
                "Incident",
                version,
                hour,
                hour + timedelta(hours=1),
                "serving events",
                f"{errors} of {total} inferences failed, mostly {top}",
            )
        )
    return incidents
