from __future__ import annotations

from django.http import HttpRequest

from lifecycle.catalog.roles import role_of

NAVIGATION = (
    ("portfolio", "Portfolio"),
    ("dataprep:index", "Data preparation"),
    ("development:index", "Development"),
    ("deployment:index", "Deployment"),
    ("monitoring:index", "Monitoring"),
    ("value:index", "Business value"),
)


def navigation(request: HttpRequest) -> dict:
    role = role_of(getattr(request, "user", None))
    return {"navigation": NAVIGATION, "user_role": role.label if role else None}
