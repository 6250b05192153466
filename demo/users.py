"""One demo user per role, with the public demo password."""

from __future__ import annotations

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User

from lifecycle.catalog.models import Role
from lifecycle.catalog.roles import role_groups_ensure

DEMO_PASSWORD = "kpiboard-demo"
# Demo users are recognised by this address, so --reset never deletes a real "admin".
DEMO_EMAIL_DOMAIN = "demo.kpiboard.invalid"
DEMO_USERS = (
    ("executive", Role.EXECUTIVE),
    ("mlops", Role.MLOPS),
    ("datateam", Role.DATA_TEAM),
    ("admin", Role.ADMIN),
)


class DemoSeedError(Exception):
    """The demo cannot be seeded into this database as it stands; the message says why."""


def users_write() -> tuple[tuple[str, str], ...]:
    labels = [role.label for role in Role]
    if Group.objects.filter(name__in=labels).count() < len(labels):
        role_groups_ensure()
    password = make_password(DEMO_PASSWORD)  # hashed once: hashing is slow on purpose
    made = []
    for username, role in DEMO_USERS:
        email = f"{username}@{DEMO_EMAIL_DOMAIN}"
        existing = User.objects.filter(username=username).first()
        if existing is not None and existing.email != email:
            raise DemoSeedError(
                f"A user named {username!r} exists and is not a demo user; the demo will not "
                f"take it over. Rename that user or seed another database."
            )
        user = existing or User(username=username, email=email)
        user.first_name, user.last_name = "Demo", role.label
        user.password = password
        user.is_staff = role in (Role.ADMIN, Role.MLOPS)
        user.is_superuser = role == Role.ADMIN
        user.save()
        user.groups.set([Group.objects.get(name=role.label)])
        made.append((username, "superuser" if user.is_superuser else role.label))
    return tuple(made)
