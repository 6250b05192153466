"""Roles are Django groups; this module maps users and tokens onto them and says, in one
explicit table, which Django permissions each role's group holds."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

from lifecycle.catalog.models import Role

WRITE_ROLES = frozenset({Role.ADMIN, Role.MLOPS})

# A Django permission as the table names it: (app_label, model, action).
Grant = tuple[str, str, str]

_ALL_ACTIONS = ("view", "add", "change", "delete")

# The catalog's nouns and the facts the phases record about them: what every role reads.
_NOUNS: dict[str, tuple[str, ...]] = {
    "catalog": (
        "industry",
        "team",
        "registeredmodel",
        "modelversion",
        "endpoint",
        "deployment",
        "dataset",
        "datasetversion",
    ),
}
_FACTS: dict[str, tuple[str, ...]] = {
    "catalog": ("servingevent", "lifecyclemetric", "label"),
    "dataprep": ("datasetprofile",),
    "development": ("trainingrun",),
    "monitoring": ("incident",),
}
# Recomputed from the raw facts, and the ledger is append-only: readable, never edited.
_DERIVED: dict[str, tuple[str, ...]] = {
    "catalog": ("servingrollup", "latencyrollup", "uptimerollup"),
    "deployment": ("lifecyclechange",),
}
# Only admins: tokens mint access, registries hold secrets and reach into the network,
# users and groups decide who is what, and the rest is the machinery's own bookkeeping.
_ADMIN_ONLY: dict[str, tuple[str, ...]] = {
    "catalog": ("apitoken", "workerheartbeat"),
    "deployment": ("registry", "registryversionstate"),
    "ingestion": ("rollupmark", "logfileoffset", "kservepending"),
    "auth": ("user", "group", "permission"),
    # Login throttling's records: admins read them and lift a lockout by deleting one.
    "axes": ("accessattempt", "accessattemptexpiration", "accessfailurelog", "accesslog"),
}


def _grants(models: dict[str, tuple[str, ...]], *actions: str) -> frozenset[Grant]:
    return frozenset(
        (app_label, model, action)
        for app_label, names in models.items()
        for model in names
        for action in actions
    )


_READ = _grants(_NOUNS, "view") | _grants(_FACTS, "view") | _grants(_DERIVED, "view")

# The only source of the groups' permissions. The API decides by role (WRITE_ROLES and
# each view's write_roles) and by team (lifecycle.catalog.ownership), so that a token and
# a user of the same role can do the same; this table is what the admin site allows.
ROLE_PERMISSIONS: dict[Role, frozenset[Grant]] = {
    Role.EXECUTIVE: _READ,
    Role.DATA_TEAM: _READ | _grants({"catalog": ("dataset", "datasetversion")}, "add", "change"),
    Role.MLOPS: _READ
    | _grants(_NOUNS, "add", "change", "delete")
    | _grants(_FACTS, "add", "change", "delete")
    # Which tokens exist and when each was last used, never a key: tokens are made,
    # changed and revoked by admins.
    | _grants({"catalog": ("apitoken", "workerheartbeat")}, "view"),
    Role.ADMIN: _grants(_NOUNS, *_ALL_ACTIONS)
    | _grants(_FACTS, *_ALL_ACTIONS)
    | _grants(_DERIVED, *_ALL_ACTIONS)
    | _grants(_ADMIN_ONLY, *_ALL_ACTIONS),
}


def role_groups_ensure() -> None:
    """Give each role's group exactly the permissions of ROLE_PERMISSIONS (idempotent).

    Runs after every migrate, so a database whose groups were granted more, by an older
    release or by hand, is corrected on the next deploy."""
    app_labels = {app_label for grants in ROLE_PERMISSIONS.values() for app_label, _, _ in grants}
    by_grant = {
        (p.content_type.app_label, p.content_type.model, p.codename.split("_", 1)[0]): p
        for p in Permission.objects.filter(content_type__app_label__in=app_labels).select_related(
            "content_type"
        )
        # Only the default permissions: a codename is "<action>_<model>".
        if p.codename == f"{p.codename.split('_', 1)[0]}_{p.content_type.model}"
    }
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.label)
        # A permission not created yet (the first migrate creates them app by app) is
        # granted when its app's own post_migrate runs this again.
        group.permissions.set(
            [by_grant[grant] for grant in ROLE_PERMISSIONS[role] if grant in by_grant]
        )


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
