"""Shared pieces of every push: item errors, batch rejection, who may push for what."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lifecycle.catalog.models import RegisteredModel
from lifecycle.catalog.ownership import principal_may_write

MAX_ERRORS_REPORTED = 100
# Ids and names of pushed items fit the catalog's 200-character columns.
MAX_NAME_LENGTH = 200


def string_problem(value: Any, *, required: bool) -> str | None:
    """Why a pushed id or name is not acceptable, or None when it is."""
    if value is None or value == "":
        return "is required" if required else None
    if not isinstance(value, str):
        return "must be a string"
    if len(value) > MAX_NAME_LENGTH:
        return f"at most {MAX_NAME_LENGTH} characters"
    if "\x00" in value:
        return "may not contain a NUL character"
    return None


@dataclass(frozen=True)
class ItemError:
    index: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "reason": self.reason}


class BatchRejected(Exception):
    """Nothing of the batch was stored. `forbidden` means a team-scope refusal (403)."""

    def __init__(self, errors: list[ItemError], *, forbidden: bool = False) -> None:
        super().__init__(f"{len(errors)} bad item(s)")
        self.errors = errors
        self.forbidden = forbidden

    def as_dict(self) -> dict[str, Any]:
        shown = self.errors[:MAX_ERRORS_REPORTED]
        return {
            "detail": "The batch was rejected; nothing of it was stored.",
            "error_count": len(self.errors),
            "errors": [e.as_dict() for e in shown],
        }


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    repeats: int

    def as_dict(self) -> dict[str, int]:
        return {"accepted": self.accepted, "repeats": self.repeats}


def timestamp_parse(value: Any) -> datetime | str:
    """A datetime with a zone, or the reason it is not one."""
    if not isinstance(value, str):
        return "must be an ISO 8601 string with a time zone"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return "not an ISO 8601 date and time"
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return "needs a time zone (e.g. Z or +00:00)"
    return parsed


def principal_may_push_for(principal: Any, model: RegisteredModel) -> bool:
    """The one write rule (lifecycle.catalog.ownership): a token pushes only for its own
    team's models unless it is an admin's; users and in-process sources for any."""
    return principal_may_write(principal=principal, team=model.team)


def is_number(value: Any) -> bool:
    # bool is an int in Python, but `true` is not a latency.
    return isinstance(value, int | float) and not isinstance(value, bool)
