"""What a KPI is asked for: the validated filters, the time range and the moment `now`,
built once per HTTP request, beat task or test, and handed to every computation."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django import forms
from django.http import QueryDict

from lifecycle.catalog.models import ServingRollup
from lifecycle.catalog.serving.filtersets import ServingRollupFilterSet
from lifecycle.catalog.serving.scope import ServingScope, serving_scope
from lifecycle.catalog.windows import TimeRange

T = TypeVar("T")

# The query keys that say which time a request covers; the rest say which rows.
TIME_KEYS = ("window", "start", "end")
# `compare=previous`: the page's time-series charts overlay the previous period.
COMPARE_PREVIOUS = "previous"
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


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


class _StrictBooleanField(forms.Field):
    """true/false (1/0, yes/no, any case); anything else is refused, not read as false."""

    def to_python(self, value: object) -> bool | None:
        text = str(value or "").strip().lower()
        if not text:
            return None
        if text not in (*_TRUE, *_FALSE):
            raise forms.ValidationError("use true or false.", code="invalid")
        return text in _TRUE


class ComparisonForm(forms.Form):
    """What a request compares with, beside its filters: `previous` (the KPI API: each
    KPI also carries its previous period's value) and `compare` (a page: its time-series
    charts overlay the previous period)."""

    previous = _StrictBooleanField(required=False)
    compare = forms.ChoiceField(
        choices=[("", "nothing"), (COMPARE_PREVIOUS, "the previous period")], required=False
    )


def comparison_read(query: QueryDict | Mapping[str, Any]) -> tuple[bool, bool]:
    """(`previous` asked, `compare=previous` asked) of a query; the one reader of both,
    for every KPI endpoint and page. Raises KpiRequestError naming a value it refuses."""
    form = ComparisonForm({key: query.get(key) for key in ComparisonForm.base_fields})
    if not form.is_valid():
        raise KpiRequestError(form.errors)
    data = form.cleaned_data
    return bool(data["previous"]), data["compare"] == COMPARE_PREVIOUS


def period_words(duration: timedelta) -> str:
    """A period's length as a tile or a legend says it: "7 days", "24 hours", "hour".
    Whole days from two days up, whole hours from two hours, else minutes: a named
    window runs on from its aligned start to now (24 h 30 min for "24h" at half past),
    and is called by its name, as the filter bar calls it; a tooltip gives the times."""
    minutes = int(duration.total_seconds() // 60)
    if minutes >= 2 * 24 * 60:
        return f"{minutes // (24 * 60)} days"
    if minutes >= 2 * 60:
        return f"{minutes // 60} hours"
    if minutes == 60:
        return "hour"
    return "minute" if minutes == 1 else f"{minutes} minutes"


@dataclass(frozen=True)
class KpiRequest:
    """One KPI question's scope: `query` (the filters as given, window included, which
    each phase's FilterSet reads), `filters` (the shared dimensions, validated),
    `time_range` ([start, end)) and `now` (when a named window ends). With
    `with_previous`, `kpi_values` gives each KPI its previous period's value (a page's
    tiles, the API's `previous=true`); `compare_previous` asks a page's time-series
    charts to overlay the previous period (`compare=previous`)."""

    query: QueryDict
    filters: Mapping[str, Any]
    time_range: TimeRange
    now: datetime
    with_previous: bool = False
    compare_previous: bool = False
    # One provider call per request: the engine keeps each provider's answer here.
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    # What does not depend on the window, shared with every period cut from this request
    # (`within`, `previous`): same filters, same `now`, so computed once for all of them.
    unwindowed: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.query.get(key, default)

    def remember(self, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()` under `key`, once per request: what a page and the providers it
        asks both read. A computation that raises keeps nothing."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    def remember_unwindowed(self, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()` under `key`, once for this request and every period cut from it:
        for inputs the window does not narrow (a version's milestones), which the
        previous period (the tiles' change) would otherwise read again."""
        if key not in self.unwindowed:
            self.unwindowed[key] = compute()
        return self.unwindowed[key]

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
            unwindowed=self.unwindowed,
        )

    def previous(self) -> KpiRequest:
        """The same scope over the period of the same length that ends where this one
        starts (a week aligned on the hour has a previous week aligned on the hour);
        one request, so the tiles and the charts' overlay read its inputs once."""
        start = self.time_range.start
        return self.remember(
            ("catalog", "previous"), lambda: self.within(start - self.time_range.duration, start)
        )


def kpi_request_build(
    *, query: QueryDict | Mapping[str, Any], now: datetime, with_previous: bool | None = None
) -> KpiRequest:
    """The request for `query` (SPEC.md's filters: model, industry, serving mode, team,
    version, endpoint, and window or start/end, and `previous` and `compare`) as of
    `now`. `with_previous` None reads it from the query's `previous` (the KPI API); a
    page passes True, as its tiles always show the change against the previous period.

    Raises KpiRequestError naming each filter that cannot be read. Keys it does not know
    (a phase's own, such as `failure_days` or `sort`) are kept for the phase to read."""
    query = _query_copy(query)
    filters = ServingRollupFilterSet(query, queryset=ServingRollup.objects.none(), now=now)
    errors = dict(filters.errors) if not filters.is_valid() else {}
    try:
        previous_asked, compare_previous = comparison_read(query)
    except KpiRequestError as error:
        errors |= error.errors
    if errors:
        raise KpiRequestError(errors)
    cleaned = {
        name: value
        for name, value in filters.form.cleaned_data.items()
        if name not in TIME_KEYS and value not in (None, "")
    }
    return KpiRequest(
        query=query,
        filters=cleaned,
        time_range=filters.time_range,
        now=now,
        with_previous=previous_asked if with_previous is None else with_previous,
        compare_previous=compare_previous,
    )
