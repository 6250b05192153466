"""A deliberately small HTTP client for reading a registry's JSON API.

Registries are configured by admins, but the URL still makes kpiboard reach out from
inside the network, so every read is fenced (MLflow's own history of SSRF advisories is
the lesson): only hosts the operator allowed, separate connect and read timeouts plus an
overall deadline, a cap on the size of an answer, no redirects, JSON only. Error messages
name the host and the problem, never a credential.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings

from lifecycle.deployment.hosts import registry_url_problem


class RegistryError(Exception):
    """The registry could not be read; the message is safe to show and to store."""


class RegistryHostNotAllowed(RegistryError):
    pass


@dataclass(frozen=True)
class HttpLimits:
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    total_timeout: float = 120.0
    max_bytes: int = 64 * 1024 * 1024


def http_limits() -> HttpLimits:
    return HttpLimits(
        connect_timeout=settings.KPIBOARD_REGISTRY_CONNECT_TIMEOUT_SECONDS,
        read_timeout=settings.KPIBOARD_REGISTRY_READ_TIMEOUT_SECONDS,
        total_timeout=settings.KPIBOARD_REGISTRY_TOTAL_TIMEOUT_SECONDS,
        max_bytes=settings.KPIBOARD_REGISTRY_MAX_ANSWER_BYTES,
    )


def auth_header(*, username: str, secret: str) -> str | None:
    if username:
        pair = f"{username}:{secret}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")
    if secret:
        return f"Bearer {secret}"
    return None


def json_get(
    *,
    base_url: str,
    path: str,
    params: dict[str, Any] | None = None,
    authorization: str | None = None,
    limits: HttpLimits | None = None,
) -> dict[str, Any]:
    """GET base_url + path and return the decoded JSON object, or raise RegistryError."""
    problem = registry_url_problem(base_url)
    if problem:
        raise RegistryHostNotAllowed(f"base URL {problem}")
    limits = limits or http_limits()
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = parts.path.rstrip("/") + path
    if params:
        target += "?" + urlencode(
            {k: v for k, v in params.items() if v not in (None, "")}, doseq=True
        )
    where = f"{host}:{port}"
    deadline = time.monotonic() + limits.total_timeout

    if parts.scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=limits.connect_timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(host, port, timeout=limits.connect_timeout)
    try:
        try:
            connection.connect()
        except TimeoutError as exc:
            raise RegistryError(f"connecting to {where} timed out") from exc
        except (OSError, ssl.SSLError) as exc:
            raise RegistryError(f"cannot connect to {where}: {exc.strerror or exc}") from exc
        assert connection.sock is not None
        connection.sock.settimeout(limits.read_timeout)
        headers = {"Accept": "application/json", "User-Agent": "kpiboard-registry-sync"}
        if authorization:
            headers["Authorization"] = authorization
        try:
            connection.request("GET", target, headers=headers)
            response = connection.getresponse()
            body = _read_capped(response, limits=limits, deadline=deadline, where=where)
        except TimeoutError as exc:
            raise RegistryError(f"reading from {where} timed out") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise RegistryError(f"connection to {where} failed: {exc}") from exc
    finally:
        connection.close()

    if 300 <= response.status < 400:
        raise RegistryError(f"{where} answered {response.status} (a redirect); not followed")
    content_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
    if response.status != 200:
        raise RegistryError(
            f"{where} answered {response.status} to {path}: {_error_text(body, content_type)}"
        )
    if content_type != "application/json":
        raise RegistryError(f"{where} answered {content_type or 'no content type'}, not JSON")
    try:
        decoded = json.loads(body)
    except ValueError as exc:
        raise RegistryError(f"{where} answered malformed JSON: {exc}") from exc
    if not isinstance(decoded, dict):
        raise RegistryError(f"{where} answered JSON that is not an object")
    return decoded


def _read_capped(
    response: http.client.HTTPResponse, *, limits: HttpLimits, deadline: float, where: str
) -> bytes:
    declared = response.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > limits.max_bytes:
        raise RegistryError(f"{where} answered {declared} bytes, over the {limits.max_bytes} cap")
    chunks, size = [], 0
    while True:
        if time.monotonic() > deadline:
            # A server trickling bytes would otherwise dodge the per-read timeout forever.
            raise RegistryError(f"reading from {where} took longer than {limits.total_timeout}s")
        chunk = response.read(64 * 1024)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limits.max_bytes:
            raise RegistryError(f"{where} answered more than the {limits.max_bytes}-byte cap")
        chunks.append(chunk)


def _error_text(body: bytes, content_type: str) -> str:
    if content_type == "application/json":
        try:
            decoded = json.loads(body)
            if isinstance(decoded, dict):
                code = decoded.get("error_code", "")
                message = str(decoded.get("message", ""))[:300]
                return f"{code} {message}".strip() or "no details"
        except ValueError:
            pass
    return "no details" if not body else "a non-JSON error page"
