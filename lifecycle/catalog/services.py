"""Catalog writes, one place for each: the team-ownership rule and the delete guards sit
here rather than in serializers or views.

A delete through the API never takes other data with it. Django refuses what a PROTECT
foreign key still points at (`ProtectedError`, answered 409 by the shared API handler);
`catalog_delete` also refuses, with 409, when the delete would cascade away or unlink
facts: serving events, rollups, deployments, metrics, training runs, the ledger. A model
with history is archived instead (`archived_at`), which keeps every number it served.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models, transaction
from rest_framework import exceptions, status

from lifecycle.catalog.models import (
    Dataset,
    DatasetVersion,
    Deployment,
    Endpoint,
    ModelVersion,
    RegisteredModel,
    Team,
)
from lifecycle.catalog.ownership import principal_endpoint_check, principal_write_check

# Rows that are part of the object and go with it: a model's versions, a dataset's
# versions. What refers to them is checked as if it referred to the object itself.
CATALOG_PARTS: Mapping[type[models.Model], tuple[type[models.Model], ...]] = {
    RegisteredModel: (ModelVersion,),
    Dataset: (DatasetVersion,),
}
# What the 409 of a refused delete advises, by the kind of object.
_INSTEAD: Mapping[type[models.Model], str] = {
    RegisteredModel: 'archive it instead: PATCH {"archived_at": "<now>"} keeps its history',
    ModelVersion: "end its deployments instead (PATCH ended_at on each); its history stays",
    Deployment: "end it instead: PATCH ended_at",
    Endpoint: "end the deployments on it instead; its history stays",
}
_SHOWN_REFERRERS = 10


class DeleteRefused(exceptions.APIException):
    """409: the object is still referred to; nothing was deleted."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "still_referenced"

    def __init__(self, *, subject: str, referenced_by: Mapping[str, list[str]], instead: str):
        kinds = ", ".join(referenced_by)
        super().__init__(
            {
                "detail": f"{subject} cannot be deleted: {kinds} still refer to it. "
                f"Nothing was deleted; {instead}.",
                "field": "name",
                "referenced_by": dict(referenced_by),
            }
        )


def owner_of(instance: models.Model) -> Team | None:
    """The team that owns a catalog object; None when it belongs to no team."""
    if isinstance(instance, Team):
        return instance
    if isinstance(instance, RegisteredModel | Dataset | Endpoint):
        return instance.team if instance.team_id else None
    if isinstance(instance, ModelVersion):
        return instance.model.team
    if isinstance(instance, DatasetVersion):
        return instance.dataset.team
    if isinstance(instance, Deployment):
        return instance.model_version.model.team
    return None  # industries and the like: the organisation's


def _subject(instance: models.Model) -> str:
    return f"{instance._meta.verbose_name} {str(instance)!r}"


def _write_check(*, principal: Any, instance: models.Model, placing: bool = True) -> None:
    # A team's object is refused by its `team` field; a part (version, deployment) by
    # the object it hangs off.
    field = "team" if isinstance(instance, Team | RegisteredModel | Dataset | Endpoint) else "name"
    if isinstance(instance, ModelVersion | Deployment):
        field = "model"
    principal_write_check(
        principal=principal, team=owner_of(instance), subject=_subject(instance), field=field
    )
    if placing and isinstance(instance, Deployment):
        principal_endpoint_check(principal=principal, endpoint=instance.endpoint)


def catalog_create(
    *, principal: Any, model_class: type[models.Model], data: Mapping[str, Any]
) -> models.Model:
    """Create a catalog object the principal's team will own."""
    instance = model_class(**data)
    _write_check(principal=principal, instance=instance)
    instance.save()
    return instance


def catalog_update(
    *, principal: Any, instance: models.Model, data: Mapping[str, Any]
) -> models.Model:
    """Change a catalog object: the principal must own it before and after, so nothing
    moves to or from another team."""
    _write_check(principal=principal, instance=instance)
    for name, value in data.items():
        setattr(instance, name, value)
    _write_check(principal=principal, instance=instance)
    instance.save()
    return instance


def _referrers(
    model_class: type[models.Model], rows: models.QuerySet, seen: set[type[models.Model]]
) -> Iterable[tuple[str, models.QuerySet]]:
    """Every kind of row a delete of `rows` would cascade away or unlink, with them."""
    for relation in model_class._meta.get_fields(include_hidden=True):
        if not (relation.auto_created and not relation.concrete):
            continue
        if not (relation.one_to_many or relation.one_to_one):
            continue
        related = relation.related_model
        # Many-to-many link rows go with either end; PROTECT and RESTRICT Django refuses.
        if related._meta.auto_created or relation.on_delete in (
            models.PROTECT,
            models.RESTRICT,
            models.DO_NOTHING,
        ):
            continue
        referring = related._base_manager.filter(**{f"{relation.field.name}__in": rows})
        if related in CATALOG_PARTS.get(model_class, ()) and related not in seen:
            yield from _referrers(related, referring.values("pk"), seen | {related})
        else:
            yield str(related._meta.verbose_name_plural), referring


def delete_blockers(*, instance: models.Model) -> dict[str, list[str]]:
    """What still refers to `instance` and would be cascaded away or unlinked by its
    delete, a few of each kind by name (an existence check each, cheap on big tables)."""
    rows = type(instance)._base_manager.filter(pk=instance.pk)
    found: dict[str, list[str]] = {}
    for kind, referring in _referrers(type(instance), rows.values("pk"), {type(instance)}):
        sample = list(referring[:_SHOWN_REFERRERS])
        if sample:
            found.setdefault(kind, []).extend(str(row) for row in sample)
    return found


def catalog_delete(*, principal: Any, instance: models.Model, instead: str = "") -> None:
    """Delete an object that nothing refers to any more; 409 otherwise, advising
    `instead` (or what suits a catalog object)."""
    # Taking a model off another team's endpoint is allowed: only putting one there is not.
    _write_check(principal=principal, instance=instance, placing=False)
    with transaction.atomic():
        # Locked first: on PostgreSQL a row inserted meanwhile that points at it waits for
        # this transaction, so the check below cannot miss it.
        type(instance)._base_manager.select_for_update().filter(pk=instance.pk).first()
        blockers = delete_blockers(instance=instance)
        if blockers:
            raise DeleteRefused(
                subject=_subject(instance),
                referenced_by=blockers,
                instead=instead
                or _INSTEAD.get(type(instance), "delete or move what refers to it first"),
            )
        instance.delete()


def protected_delete_body(*, protected: Iterable[models.Model]) -> dict[str, Any]:
    """The 409 body of a delete Django refused because a PROTECT foreign key still points
    at the object: what refers to it, a few of each kind by name."""
    by_kind: dict[str, list[str]] = {}
    for row in protected:
        names = by_kind.setdefault(str(row._meta.verbose_name_plural), [])
        if len(names) < _SHOWN_REFERRERS:
            names.append(str(row))
    kinds = ", ".join(sorted(by_kind))
    return {
        "detail": f"Cannot delete: {kinds} still refer to it. Nothing was deleted; delete or "
        "move those first.",
        "field": "name",
        "referenced_by": {kind: sorted(names) for kind, names in sorted(by_kind.items())},
    }
