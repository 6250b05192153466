"""Roles are Django groups; this module maps users and tokens onto them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

from lifecycle.catalog.models import Role

WRITE_ROLES = frozenset({Role.ADMIN, Role.MLOPS})

# Django permissions each role's group holds, for the admin site. The API decides by
# role (WRITE_ROLES and friends) so a token and a user with the same role can do the same.
_APP_LABELS = ("catalog", "dataprep", "development", "deployment", "monitoring", "value")
_ROLE_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    Role.EXECUTIVE: {"*": ("view",)},
    Role.DATA_TEAM: {
        "*": ("view",),
        "dataset": ("add", "change"),
        "datasetversion": ("add", "change"),
    },
    Role.MLOPS: {"*": ("view", "add", "change", "delete"), "apitoken": ("view",)},
    Role.ADMIN: {"*": ("view", "add", "change", "delete")},
}


def role_groups_ensure() -> None:
    """Create the four role groups with their permissions (idempotent)."""
    permissions = list(
        Permission.objects.filter(content_type__app_label__in=_APP_LABELS).select_related(
            "content_type"
        )
    )
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.label)
        rules = _ROLE_PERMISSIONS[role]
        wanted = []
        for perm in permissions:
            action = perm.codename.split("_", 1)[0]
            allowed = rules.get(perm.content_type.model, rules["*"])
            if action in allowed or action in rules["*"]:
                wanted.append(perm)
        if role is Role.ADMIN:
            wanted += list(Permission.objects.filter(content_type__app_label="auth"))
        group.permissions.set(wanted)


def role_of(user: Any) -> Role | None:
    """The role of a user or token principal; superusers are admins."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    token_role = getattr(user, "role", None)
    if token_role:
        return Role(token_role)
    if user.is_superuser:
        return Role.ADMIN
    by_label = {role.label: role for role in Role}
    # Highest privilege wins when a user is in several groups.
    names = set(user.groups.values_list("name", flat=True))
    for role in (Role.ADMIN, Role.MLOPS, Role.DATA_TEAM, Role.EXECUTIVE):
        if role.label in names:
            return by_label[role.label]
    return None
