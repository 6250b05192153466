"""Who may write what: the one team-ownership rule of every write (catalog API, pushes,
registry events, dataset uploads, training runs).

Roles decide whether a principal writes at all (`permissions.RoleWritePermission` and each
view's `write_roles`); this module decides which objects. An API token belongs to a team:
unless its role is admin it creates, changes and deletes only objects its team owns, may not
move one to or from another team, and may not put its model on another team's endpoint.
Objects that belong to no team (industries, shared endpoints) are the organisation's, and
only admins change them through a token.

A logged-in user belongs to no team: people are given a role in the admin, and a user with
a write role acts for every team (the admin site, which those roles also use, has no team
scope either). In-process sources (the registry sync, the log-file scanner), whose
principal is None, are trusted.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions

from lifecycle.catalog.models import Endpoint, Role, Team
from lifecycle.catalog.roles import role_of


class WriteForbidden(exceptions.PermissionDenied):
    """A 403 whose body names the field and the reason."""

    def __init__(self, *, field: str, reason: str) -> None:
        super().__init__({"detail": reason, "field": field})


def principal_team(principal: Any) -> Team | None:
    """The team a principal is scoped to: a token's team; None for users and trusted
    in-process sources, which act for every team."""
    return getattr(principal, "team", None)


def principal_may_write(*, principal: Any, team: Team | None) -> bool:
    """May this principal create, change or delete an object owned by `team` (None: owned
    by no team)?"""
    if principal is None or role_of(principal) == Role.ADMIN:
        return True
    own = principal_team(principal)
    if own is None:
        return True
    return team is not None and team.pk == own.pk


def principal_write_check(*, principal: Any, team: Team | None, subject: str, field: str) -> None:
    """Raise WriteForbidden (403) unless the principal may write an object of `team`."""
    if principal_may_write(principal=principal, team=team):
        return
    own = principal_team(principal)
    whose = f"team {team.name!r}" if team is not None else "no team (only admins change it)"
    raise WriteForbidden(
        field=field,
        reason=f"{subject} belongs to {whose}; a token of team {own.name!r} writes only "
        "its own team's objects.",
    )


def principal_may_use_endpoint(*, principal: Any, endpoint: Endpoint) -> bool:
    """May this principal put a model on `endpoint`? A shared endpoint (no team) takes any
    team's models; a team's endpoint only that team's."""
    return endpoint.team_id is None or principal_may_write(principal=principal, team=endpoint.team)


def principal_endpoint_check(
    *, principal: Any, endpoint: Endpoint, field: str = "endpoint"
) -> None:
    if not principal_may_use_endpoint(principal=principal, endpoint=endpoint):
        principal_write_check(
            principal=principal,
            team=endpoint.team,
            subject=f"endpoint {endpoint.name!r}",
            field=field,
        )
