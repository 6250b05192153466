"""Keep API keys out of logs and error reports.

KServe's logger can only authenticate with `?token=<key>` in its URL, and every request
log prints the URL: runserver's `django.server` lines, access logs, the request attached
to `django.request` records (shown by error mails and error trackers). The filter rewrites
what a record prints; the reporter filter cleans the query string of error reports.
"""

from __future__ import annotations

import logging
import pprint
import re
from typing import Any

from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter

REDACTED = "[redacted]"
# `token=` as a query parameter or form field, up to the next separator; also
# `Authorization: Token <key>` should a header ever be printed.
_SECRET = re.compile(r"(?i)(\btoken=|\bToken\s+)[^&\s\"';,]+")


def secret_redact(*, text: str) -> str:
    """`text` with every `token=<key>` (and `Token <key>`) value replaced."""
    return _SECRET.sub(lambda m: m.group(1) + REDACTED, text)


class TokenRedactFilter(logging.Filter):
    """Rewrites a record's message (after %-formatting) and the request it carries, so
    no handler or formatter downstream can print a key."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose args do not fit its format: leave it be
            return True
        cleaned = secret_redact(text=message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        request = getattr(record, "request", None)
        if isinstance(request, HttpRequest):
            query = request.META.get("QUERY_STRING", "")
            if query and _SECRET.search(query):
                record.request = _request_redacted(request)
        return True


def _request_redacted(request: HttpRequest) -> HttpRequest:
    """A shallow copy whose query string and GET hold no key (the view saw the real one)."""
    copy = HttpRequest()
    copy.__dict__.update(request.__dict__)
    copy.META = {**request.META, "QUERY_STRING": secret_redact(text=request.META["QUERY_STRING"])}
    query = request.GET.copy()
    for name in list(query):
        if name.lower() == "token":
            query.setlist(name, [REDACTED])
    copy.GET = query
    return copy


class _Redacted:
    """A frame variable as the error report prints it, keys taken out."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return secret_redact(text=pprint.pformat(self.value))


class TokenSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    """Error mails show META and every frame's variables (a request's repr holds its
    query string); none may show a key."""

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> list[Any]:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [(name, _Redacted(value)) for name, value in variables]

    def get_safe_request_meta(self, request: HttpRequest) -> dict[str, Any]:
        meta = super().get_safe_request_meta(request)
        for name in ("QUERY_STRING", "REQUEST_URI", "RAW_URI", "PATH_INFO"):
            if isinstance(meta.get(name), str):
                meta[name] = secret_redact(text=meta[name])
        return meta
