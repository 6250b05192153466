"""Which registry URLs kpiboard may reach: only hosts the operator allowed.

Checked when an admin saves a registry and again before every request (the setting may
have changed since).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings


def allowed_hosts() -> list[str]:
    """The operator's allow-list (KPIBOARD_REGISTRY_ALLOWED_HOSTS): `host`, `host:port`
    or `*.domain` entries. Empty means no registry may be reached."""
    configured = settings.KPIBOARD_REGISTRY_ALLOWED_HOSTS or []
    return [entry.strip().lower() for entry in configured if entry.strip()]


def registry_url_problem(url: str) -> str | None:
    """Why kpiboard may not read from `url`, or None when it may."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if parts.username or parts.password:
        return "must not hold credentials; use the username and secret fields"
    if parts.query or parts.fragment:
        return "must not have a query or fragment"
    host = (parts.hostname or "").lower()
    if not host:
        return "has no host"
    port = port or (443 if parts.scheme == "https" else 80)
    for entry in allowed_hosts():
        if entry in (host, f"{host}:{port}"):
            return None
        if entry.startswith("*.") and host.endswith(entry[1:]):
            return None
    return (
        f"host {host}:{port} is not in KPIBOARD_REGISTRY_ALLOWED_HOSTS; an operator must "
        "allow it first"
    )
