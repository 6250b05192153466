"""Reading the one body every refused push answers with:
{detail, error_count, errors: [{index, field, reason}]}."""

from __future__ import annotations

from typing import Any


def refused_fields(response: Any) -> dict[str, str]:
    """Each field a refused push names, with its reason (the last, if named twice)."""
    body = response.json()
    assert set(body) >= {"detail", "error_count", "errors"}, body
    return {error["field"]: error["reason"] for error in body["errors"]}
