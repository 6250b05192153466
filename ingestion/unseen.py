"""Versions and endpoints that serving events name before the catalog has them.

A serving layer often deploys a version, or opens an endpoint, before the registry sync
catches up. `KPIBOARD_UNKNOWN_SERVING` decides what such events meet, for every source
(REST push, log files, KServe), all of which validate through `events_validate`:

- `register` (the default): a version or endpoint of a known model that the catalog lacks
  is registered when the batch is stored, in the batch's own transaction, with
  `seen_in_serving_at` set; the registry sync or a registry event clears it and fills in
  the registry's facts (ingestion/registry/ledger.py).
- `refuse`: the item is refused, naming its field and why.

An unknown model is refused either way: a model has a team, an industry and a serving
mode, and an event says none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError

from ingestion.validation import BatchRejected, ItemError
from lifecycle.catalog.models import Endpoint, ModelVersion, RegisteredModel, name_validator
from lifecycle.catalog.ownership import principal_may_use_endpoint

if TYPE_CHECKING:
    from ingestion.events import PreparedEvent

REGISTER = "register"
_VERSION_MAX = ModelVersion._meta.get_field("version").max_length
_ENDPOINT_MAX = Endpoint._meta.get_field("name").max_length


def unknown_serving_registers() -> bool:
    """Whether a version or endpoint serving events name, and the catalog lacks, is
    registered (else refused)."""
    return settings.KPIBOARD_UNKNOWN_SERVING == REGISTER


def _name_problem(name: str, max_length: int) -> str | None:
    if len(name) > max_length:
        return f"at most {max_length} characters"
    try:
        name_validator(name)
    except ValidationError as error:
        return " ".join(error.messages)
    return None


def _unknown_problem(*, missing: str, noun: str, name: str, max_length: int) -> str | None:
    if not unknown_serving_registers():
        return (
            f"{missing} (this kpiboard refuses {noun}s it has not seen: "
            "KPIBOARD_UNKNOWN_SERVING=refuse)"
        )
    if problem := _name_problem(name, max_length):
        return f"{missing}, and it cannot be registered: {problem}"
    return None


def unknown_version_problem(*, model: RegisteredModel, name: str) -> str | None:
    """Why an event naming version `name` of `model`, which the catalog lacks, is refused;
    None when the version is to be registered as seen in serving."""
    return _unknown_problem(
        missing=f"model {model.name!r} has no version {name!r}",
        noun="version",
        name=name,
        max_length=_VERSION_MAX,
    )


def unknown_endpoint_problem(*, name: str) -> str | None:
    """Why an event naming endpoint `name`, which the catalog lacks, is refused; None when
    the endpoint is to be registered as seen in serving."""
    return _unknown_problem(
        missing=f"no endpoint named {name!r}", noun="endpoint", name=name, max_length=_ENDPOINT_MAX
    )


@dataclass
class UnseenNames:
    """What one batch names that the catalog lacks, and the events waiting for each id.

    Nothing is written while a batch is validated: a batch refused for another item (an
    unknown model) must leave no version behind, and the log reader validates a chunk
    before the transaction that stores it."""

    principal: Any = None
    versions: dict[tuple[int, str], list[PreparedEvent]] = field(default_factory=dict)
    # endpoint name -> (the team of the model first naming it, its events)
    endpoints: dict[str, tuple[int, list[PreparedEvent]]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.versions or self.endpoints)

    def version_wait(self, event: PreparedEvent, *, name: str) -> None:
        self.versions.setdefault((event.model_id, name), []).append(event)

    def endpoint_wait(self, event: PreparedEvent, *, name: str) -> None:
        self.endpoints.setdefault(name, (event.team_id, []))[1].append(event)


def _first_seen(events: list[PreparedEvent]) -> datetime:
    return min(e.timestamp for e in events)


def unseen_register(*, unseen: UnseenNames) -> None:
    """Register what the batch names and the catalog lacks, and give its events the ids.

    Runs in the batch's transaction, so a batch that fails to store leaves nothing. Two
    batches registering one name at once both succeed with one row: the insert skips a
    row the other made (the unique constraints, ON CONFLICT DO NOTHING), and both read
    the one row back. A row a registry made meanwhile is used as it is, unflagged."""
    if unseen.versions:
        ModelVersion.objects.bulk_create(
            [
                ModelVersion(
                    model_id=model_id,
                    version=name,
                    # A stand-in until the registry says when it registered the version.
                    registered_at=_first_seen(events),
                    seen_in_serving_at=_first_seen(events),
                )
                for (model_id, name), events in unseen.versions.items()
            ],
            ignore_conflicts=True,
        )
        found = {
            (model_id, name): pk
            for model_id, name, pk in ModelVersion.objects.filter(
                model_id__in={m for m, _ in unseen.versions},
                version__in={v for _, v in unseen.versions},
            ).values_list("model_id", "version", "pk")
        }
        for key, events in unseen.versions.items():
            for event in events:
                event.model_version_id = found[key]
    if unseen.endpoints:
        Endpoint.objects.bulk_create(
            [
                Endpoint(name=name, team_id=team_id, seen_in_serving_at=_first_seen(events))
                for name, (team_id, events) in unseen.endpoints.items()
            ],
            ignore_conflicts=True,
        )
        for endpoint in Endpoint.objects.filter(name__in=list(unseen.endpoints)).select_related(
            "team"
        ):
            # Another team may have created this name since the batch was validated.
            if not principal_may_use_endpoint(principal=unseen.principal, endpoint=endpoint):
                raise BatchRejected(
                    [
                        ItemError(
                            None,
                            "endpoint",
                            f"endpoint {endpoint.name!r} was just created by team "
                            f"{endpoint.team.name!r}; this token's team may not push events "
                            "for it",
                            forbidden=True,
                        )
                    ]
                )
            for event in unseen.endpoints[endpoint.name][1]:
                event.endpoint_id = endpoint.pk
