"""What a KPI is asked for: the validated filters, the time range and the moment `now`,
built once per HTTP request, beat task or test, and handed to every computation."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from django.http import QueryDict

from lifecycle.catalog.models import ServingRollup
from lifecycle.catalog.serving.filtersets import ServingRollupFilterSet
from lifecycle.catalog.serving.scope import ServingScope, serving_scope
from lifecycle.catalog.windows import TimeRange

T = TypeVar("T")

# The query keys that say which time a request covers; the rest say which rows.
TIME_KEYS = ("window", "start", "end")


class KpiRequestError(ValueError):
    """A filter that cannot be read; `errors` names each field and why, as a 400 body."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        self.errors = {name: [str(e) for e in reasons] for name, reasons in errors.items()}
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in self.errors.items()))


def _query_copy(query: QueryDict | Mapping[str, Any]) -> QueryDict:
    if isinstance(query, QueryDict):
        copy = query.copy()
    else:
        copy = QueryDict(mutable=True)
        for key, value in query.items():
            if isinstance(value, list | tuple):
                copy.setlist(key, [str(v) for v in value])
            elif value is not None:
                copy[key] = value.isoformat() if isinstance(value, datetime) else str(value)
    copy._mutable = False
    return copy


@dataclass(frozen=True)
class KpiRequest:
    """One KPI question's scope: `query` (the filters as given, window included, which
    each phase's FilterSet reads), `filters` (the shared dimensions, validated),
    `time_range` ([start, end)) and `now` (when a named window ends)."""

    query: QueryDict
    filters: Mapping[str, Any]
    time_range: TimeRange
    now: datetime
    # One provider call per request: the engine keeps each provider's answer here.
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.query.get(key, default)

    def remember(self, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()` under `key`, once per request: what a page and the providers it
        asks both read. A computation that raises keeps nothing."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    def serving_scope(self, *, shadow_copies: bool = False) -> ServingScope:
        """The serving rollups and events this request selects, its window ending at
        `now`; built once, whichever phase asks first. Shadow copies are left out, or
        are all it selects with `shadow_copies`."""
        return self.remember(
            ("catalog", "serving_scope", shadow_copies),
            lambda: self._serving_scope_build(shadow_copies),
        )

    def _serving_scope_build(self, shadow_copies: bool) -> ServingScope:
        scope, errors = serving_scope(self.query, now=self.now, shadow_copies=shadow_copies)
        if errors:
            raise KpiRequestError(errors)
        return scope

    def within(self, start: datetime, end: datetime) -> KpiRequest:
        """The same scope over [start, end), kept to the second."""
        query = self.query.copy()
        for key in TIME_KEYS:
            query.pop(key, None)
        query["start"], query["end"] = start.isoformat(), end.isoformat()
        query._mutable = False
        label = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
        return KpiRequest(
            query=query,
            filters=self.filters,
            time_range=TimeRange(start, end, label),
            now=self.now,
        )

    def previous(self) -> KpiRequest:
        """The same scope over the period of the same length that ends where this one
        starts (a week aligned on the hour has a previous week aligned on the hour)."""
        start = self.time_range.start
        return self.within(start - self.time_range.duration, start)

    @property
    def previous_label(self) -> str:
        days = self.time_range.duration.total_seconds() / 86400
        if days >= 1 and float(days).is_integer():
            return f"the {int(days)} days before" if days > 1 else "the day before"
        hours = days * 24
        if float(hours).is_integer():
            return f"the {int(hours)} hours before" if hours > 1 else "the hour before"
        return "the period before"


def kpi_request_build(*, query: QueryDict | Mapping[str, Any], now: datetime) -> KpiRequest:
    """The request for `query` (SPEC.md's filters: model, industry, serving mode, team,
    version, endpoint, and window or start/end) as of `now`.

    Raises KpiRequestError naming each filter that cannot be read. Keys it does not know
    (a phase's own, such as `failure_days` or `sort`) are kept for the phase to read."""
    query = _query_copy(query)
    filters = ServingRollupFilterSet(query, queryset=ServingRollup.objects.none(), now=now)
    if not filters.is_valid():
        raise KpiRequestError(filters.errors)
    cleaned = {
        name: value
        for name, value in filters.form.cleaned_data.items()
        if name not in TIME_KEYS and value not in (None, "")
    }
    return KpiRequest(query=query, filters=cleaned, time_range=filters.time_range, now=now)
