"""JSON from outside, read by one function that turns every way it can fail into a reason.

`json.loads` accepts more than kpiboard can store or count: `NaN` and `Infinity`, `1e400`
(read as infinity), integers far beyond a float, lone surrogates such as `"\\ud800"` and
NUL characters (which PostgreSQL refuses), and nesting deep enough to raise
RecursionError; an integer of more than 4,300 digits raises a ValueError of its own.
`json_parse` refuses all of them and says where, so a push, a webhook and every DRF
endpoint answer 400 naming the field instead of 500.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass
from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

_FLOAT_MAX = sys.float_info.max
# More digits than any integer a float can hold.
_FLOAT_MAX_DIGITS = len(str(int(_FLOAT_MAX)))
# Escapes that make a NUL or a surrogate: searched for first, so that clean bodies (nearly
# all) are not walked value by value. A surrogate pair (an escaped emoji) also matches and
# is walked, and passes.
_SUSPECT = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class JsonProblem:
    path: Path
    reason: str

    @property
    def field(self) -> str:
        return ".".join(str(part) for part in self.path)


class JsonRejected(ValueError):
    """The body is not JSON kpiboard accepts; `problems` say where and why."""

    def __init__(self, problems: list[JsonProblem]) -> None:
        super().__init__("; ".join(f"{p.field or 'body'}: {p.reason}" for p in problems))
        self.problems = problems


class _Refused:
    """Stands in for a number json.loads would otherwise have made, until the walk."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _Reader:
    """json.loads's number hooks: each refused number becomes a _Refused, and is noted so
    that the document is walked to say where."""

    __slots__ = ("refused",)

    def __init__(self) -> None:
        self.refused = False

    def constant(self, name: str) -> _Refused:
        self.refused = True
        return _Refused(f"{name} is not a number kpiboard accepts (only finite numbers)")

    def integer(self, text: str) -> int | _Refused:
        if len(text) < _FLOAT_MAX_DIGITS:
            return int(text)
        # Past 4,300 digits int() raises, and long before that the integer is beyond any
        # float: count the digits before converting.
        digits = len(text.lstrip("-"))
        if digits > _FLOAT_MAX_DIGITS or abs(int(text)) > _FLOAT_MAX:
            self.refused = True
            return _Refused(f"an integer of {digits:,} digits is beyond a float's range")
        return int(text)

    def real(self, text: str) -> float | _Refused:
        value = float(text)
        if value - value != 0.0:  # inf (e.g. 1e400); NaN cannot be written as a number
            self.refused = True
            return _Refused("a number beyond a float's range")
        return value


def json_problems(value: Any, *, limit: int = 100) -> list[JsonProblem]:
    """Every value in `value` kpiboard cannot store or count, with its path (up to
    `limit`). Iterative, so a deep document cannot exhaust the stack."""
    problems: list[JsonProblem] = []
    stack: list[tuple[Path, Any]] = [((), value)]
    while stack and len(problems) < limit:
        path, item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if _BAD_TEXT.search(key):
                    problems.append(JsonProblem(path, f"the key {key!r} {_text_reason(key)}"))
                stack.append(((*path, key), child))
        elif isinstance(item, list):
            stack.extend(((*path, i), child) for i, child in enumerate(item))
        elif isinstance(item, str):
            if _BAD_TEXT.search(item):
                problems.append(JsonProblem(path, _text_reason(item)))
        elif isinstance(item, _Refused):
            problems.append(JsonProblem(path, item.reason))
        elif isinstance(item, float):
            if not math.isfinite(item):
                problems.append(JsonProblem(path, "a number beyond a float's range"))
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > _FLOAT_MAX:
            problems.append(JsonProblem(path, "an integer beyond a float's range"))
    problems.sort(key=lambda p: [str(part).zfill(12) for part in p.path])
    return problems


def _text_reason(text: str) -> str:
    if "\x00" in text:
        return "may not contain a NUL character"
    return "contains a lone surrogate (an unpaired \\ud800-\\udfff), which is not text"


def json_parse(data: bytes | str) -> Any:
    """The JSON document in `data` (UTF-8 when bytes); raises JsonRejected with a reason
    for anything kpiboard would fail to store or count."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            reason = f"the body is not UTF-8 ({error.reason} at byte {error.start})"
            raise JsonRejected([JsonProblem((), reason)]) from None
    else:
        text = data
    reader = _Reader()
    try:
        value = json.loads(
            text, parse_constant=reader.constant, parse_int=reader.integer, parse_float=reader.real
        )
    except RecursionError:
        reason = "nested too deeply (objects and lists within each other)"
        raise JsonRejected([JsonProblem((), reason)]) from None
    except json.JSONDecodeError as error:
        reason = f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        raise JsonRejected([JsonProblem((), reason)]) from None
    except ValueError as error:
        raise JsonRejected([JsonProblem((), f"not valid JSON: {error}")]) from None
    if (reader.refused or _SUSPECT.search(text)) and (problems := json_problems(value)):
        raise JsonRejected(problems)
    return value


def json_rejection_body(rejected: JsonRejected) -> dict[str, Any]:
    """The 400 body of a document refused whole: the push API's error shape."""
    return {
        "detail": "The body could not be read; nothing was stored.",
        "error_count": len(rejected.problems),
        "errors": [
            {"index": None, "field": p.field, "reason": p.reason} for p in rejected.problems
        ],
    }


class StrictJSONParser(JSONParser):
    """DRF's JSON parser through `json_parse`: every endpoint refuses the same bodies,
    with the field and the reason."""

    def parse(
        self, stream: IO[bytes] | None, media_type: str | None = None, parser_context: Any = None
    ) -> Any:
        data = stream.read() if stream is not None else b""
        try:
            return json_parse(data)
        except JsonRejected as rejected:
            error = ParseError()
            # Set after construction: DRF would turn the null index into the text "None".
            error.detail = json_rejection_body(rejected)
            raise error from None
