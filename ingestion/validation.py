"""Shared pieces of every push: item errors, batch rejection, who may push for what."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from lifecycle.catalog.auth import principal_token_id
from lifecycle.catalog.models import RegisteredModel, ServingEvent
from lifecycle.catalog.ownership import principal_may_write
from lifecycle.catalog.times import time_parse

__all__ = ["principal_token_id"]  # the write path reads it from here, with the rest

MAX_ERRORS_REPORTED = 100
# Ids and names of pushed items fit the catalog's 200-character columns.
MAX_NAME_LENGTH = 200
FLOAT_MAX = sys.float_info.max
_COST_FIELD = ServingEvent._meta.get_field("cost_usd")
# The largest cost its column holds: numeric(14, 8) keeps six digits before the point.
MAX_COST_USD = Decimal(10) ** (_COST_FIELD.max_digits - _COST_FIELD.decimal_places)
# A NUL or a lone surrogate: json.loads makes both from escapes, and the database refuses
# both as text.
NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


def string_problem(value: Any, *, required: bool) -> str | None:
    """Why a pushed id or name is not acceptable, or None when it is."""
    if value is None or value == "":
        return "is required" if required else None
    if not isinstance(value, str):
        return "must be a string"
    if len(value) > MAX_NAME_LENGTH:
        return f"at most {MAX_NAME_LENGTH} characters"
    return text_problem(value)


def text_problem(value: str) -> str | None:
    """Why a string is not text the database can store, or None."""
    if NOT_TEXT.search(value) is None:
        return None
    if "\x00" in value:
        return "may not contain a NUL character"
    return "contains a lone surrogate (an unpaired \\ud800-\\udfff), which is not text"


def names_of(rows: Sequence[Any], field: str) -> set[str]:
    """The string values of `field` across a batch's objects, to look up in one query; a
    list or object sent there is refused item by item, and cannot even go into a set."""
    return {value for r in rows if isinstance(r, dict) and isinstance(value := r.get(field), str)}


@dataclass(frozen=True)
class ItemError:
    """One reason a push is refused. `index` is the item's place in the batch (None for
    the body, a header or a form field). `forbidden` marks a team-scope refusal: the
    pusher may not write what the item names, whatever the reason's words."""

    index: int | None
    field: str
    reason: str
    forbidden: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "reason": self.reason}


class BatchRejected(Exception):
    """A push refused whole: nothing of it was stored. Every push (events, labels,
    metrics, KServe, registry events, dataset uploads) answers with its `as_dict()` body
    and its `status`: 403 when every error is a team-scope refusal, else 400, unless the
    refusal names its own (409 a version clash, 413 too large)."""

    detail = "The batch was rejected; nothing of it was stored."

    def __init__(
        self,
        errors: list[ItemError],
        *,
        forbidden: bool = False,
        status: int | None = None,
        detail: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(f"{len(errors)} bad item(s)")
        if forbidden:
            errors = [replace(e, forbidden=True) for e in errors]
        self.errors = errors
        self._status = status
        if detail is not None:
            self.detail = detail
        # A stable word for clients, where the reason is for people (uploads: "ragged_row").
        self.code = code

    @property
    def forbidden(self) -> bool:
        return bool(self.errors) and all(e.forbidden for e in self.errors)

    @property
    def status(self) -> int:
        if self._status is not None:
            return self._status
        return 403 if self.forbidden else 400

    def as_dict(self) -> dict[str, Any]:
        shown = self.errors[:MAX_ERRORS_REPORTED]
        body: dict[str, Any] = {
            "detail": self.detail,
            "error_count": len(self.errors),
            "errors": [e.as_dict() for e in shown],
        }
        if self.code is not None:
            body["code"] = self.code
        return body


def body_refusal(
    reason: str,
    *,
    field: str = "body",
    status: int = 400,
    index: int | None = None,
    code: str | None = None,
) -> BatchRejected:
    """A push refused for its body or one field of the request rather than an item."""
    return BatchRejected(
        [ItemError(index, field, reason)],
        status=status,
        detail="The request was rejected; nothing of it was stored.",
        code=code,
    )


def body_too_large(reason: str, *, field: str = "body") -> BatchRejected:
    """The one 413 of every push: the body, a file or a batch over its limit."""
    return body_refusal(reason, field=field, status=413)


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    repeats: int

    def as_dict(self) -> dict[str, int]:
        return {"accepted": self.accepted, "repeats": self.repeats}


def timestamp_parse(value: Any, *, now: datetime | None = None) -> datetime | str:
    """A UTC datetime within the accepted range (lifecycle.catalog.times), or the reason
    it is not one."""
    return time_parse(value, now=now)


def principal_may_push_for(principal: Any, model: RegisteredModel) -> bool:
    """The one write rule (lifecycle.catalog.ownership): a token pushes only for its own
    team's models unless it is an admin's; users and in-process sources for any."""
    return principal_may_write(principal=principal, team=model.team)


def is_number(value: Any) -> bool:
    # bool is an int in Python, but `true` is not a latency.
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_finite_number(value: Any) -> bool:
    """A number a float holds: not NaN or infinite, and not an integer beyond a float's
    range (comparing an int with a float is exact, where float() would overflow)."""
    return is_number(value) and -FLOAT_MAX <= value <= FLOAT_MAX


def flat_object_problem(value: Any) -> str | None:
    """Why `value` is not a flat object of numbers, strings, booleans and nulls (features,
    dimensions), or None."""
    if not isinstance(value, dict):
        return "must be a flat object"
    for key, item in value.items():
        if problem := text_problem(key):
            return f"the key {key!r} {problem}"
        if isinstance(item, dict | list):
            return f"{key!r} must be a number, string, boolean or null (the object is flat)"
        if is_number(item) and not is_finite_number(item):
            return f"{key!r} must be a finite number"
        if isinstance(item, str) and (problem := text_problem(item)):
            return f"{key!r} {problem}"
    return None


def cost_problem(value: Any) -> str | None:
    """Why a cost in USD is not one the cost column holds, or None."""
    if not is_finite_number(value) or value < 0:
        return "must be a number >= 0"
    if value >= MAX_COST_USD:
        return f"must be less than {MAX_COST_USD:,} (the cost column's limit)"
    return None
