"""Login throttling: whose address a login attempt comes from, and the locked-out page.

django-axes counts failures in the database (shared by every web process, also on the
embedded SQLite) and locks a username+address pair; these two functions are its hooks.
"""

from __future__ import annotations

import ipaddress
import math

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def client_address_get(request: HttpRequest) -> str | None:
    """The address the request came from.

    Behind proxies (KPIBOARD_PROXY_COUNT > 0) it is the entry of X-Forwarded-For that the
    outermost trusted proxy appended: each proxy appends the peer it saw, so anything left
    of that entry was written by the client and could be forged. Without proxies the
    header is ignored, since anyone can send it.
    """
    peer = request.META.get("REMOTE_ADDR")
    proxies = settings.KPIBOARD_PROXY_COUNT
    if proxies <= 0:
        return peer
    forwarded = [
        entry.strip()
        for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if entry.strip()
    ]
    if not forwarded:
        return peer
    candidate = forwarded[-min(proxies, len(forwarded))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer


def lockout_respond(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """429 with a page that says the login is locked and for how long.

    Every attempt during a lockout starts the cool-off again, so it lasts the full
    cool-off from now.
    """
    minutes = math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    return render(
        request,
        "registration/locked_out.html",
        {"lockout_minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT},
        status=429,
    )
