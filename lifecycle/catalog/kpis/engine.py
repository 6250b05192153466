"""The KPI engine: any registered KPI for any request, through the phases' providers.

A phase registers a provider for the ids it computes (`kpi_provide`): one function from
a `KpiRequest` to {id: value}, since many KPIs come out of one summary together. The
engine calls each provider at most once per request and keeps its answer on the request.
A provider may also answer series itself (the serving KPIs read them per bucket from
the rollups); otherwise each bucket is computed as a request of its own.

The catalog imports no phase: the phases register themselves when their apps are ready.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from lifecycle.catalog.kpis.definitions import KPI_DEFINITIONS, KpiValue
from lifecycle.catalog.kpis.request import KpiRequest
from lifecycle.catalog.models import RollupGranularity
from lifecycle.catalog.serving.buckets import bucket_ceil, bucket_floor

Number = float | int | None
Answer = KpiValue | Number
ProviderCompute = Callable[[KpiRequest], Mapping[str, Answer]]
# (request, bucket) -> {id: [(bucket start, value), ...]} for the ids it can lay out, or
# None for a bucket it cannot (the engine then computes each bucket on its own).
ProviderSeries = Callable[[KpiRequest, str], Mapping[str, list[tuple[datetime, Number]]] | None]

BUCKETS = (RollupGranularity.HOUR, RollupGranularity.DAY, RollupGranularity.WEEK)


@dataclass(frozen=True)
class KpiProvider:
    name: str
    ids: frozenset[str]
    compute: ProviderCompute
    series: ProviderSeries | None = None
    series_ids: frozenset[str] = frozenset()


KPI_PROVIDERS: dict[str, KpiProvider] = {}


def kpi_provide(
    *,
    name: str,
    ids: Iterable[str],
    compute: ProviderCompute,
    series: ProviderSeries | None = None,
    series_ids: Iterable[str] = (),
) -> KpiProvider:
    """Register `compute` as the one way to answer `ids` (each must be defined)."""
    provider = KpiProvider(name, frozenset(ids), compute, series, frozenset(series_ids))
    for kpi_id in provider.ids | provider.series_ids:
        if kpi_id not in KPI_DEFINITIONS:
            raise ValueError(f"KPI {kpi_id!r} is provided by {name!r} but never defined")
    for kpi_id in provider.ids:
        existing = KPI_PROVIDERS.get(kpi_id)
        if existing is not None and existing.name != name:
            raise ValueError(f"KPI {kpi_id!r} is provided by {existing.name!r} and {name!r}")
        KPI_PROVIDERS[kpi_id] = provider
    return provider


def _provider(kpi_id: str) -> KpiProvider:
    if kpi_id not in KPI_DEFINITIONS:
        raise KeyError(f"no KPI {kpi_id!r}")
    try:
        return KPI_PROVIDERS[kpi_id]
    except KeyError:
        raise LookupError(f"KPI {kpi_id!r} has no provider") from None


def _as_value(kpi_id: str, answer: Answer) -> KpiValue:
    if isinstance(answer, KpiValue):
        return answer
    return KpiValue(KPI_DEFINITIONS[kpi_id], answer)


def kpi_compute(kpi_id: str, request: KpiRequest) -> KpiValue:
    """KPI `kpi_id` for the scope, window and moment of `request`."""
    provider = _provider(kpi_id)
    answer = request.remember(("compute", provider.name), lambda: provider.compute(request))
    return _as_value(kpi_id, answer.get(kpi_id))


def kpi_values(
    ids: Iterable[str], request: KpiRequest, *, with_previous: bool | None = None
) -> list[KpiValue]:
    """Several KPIs of one request; with `with_previous` (by default the request's own),
    each that compares carries its value over the previous period of the same length."""
    values = [kpi_compute(kpi_id, request) for kpi_id in ids]
    if with_previous is None:
        with_previous = request.with_previous
    return previous_attach(values=values, request=request) if with_previous else values


def previous_attach(*, values: Iterable[KpiValue], request: KpiRequest) -> list[KpiValue]:
    """`values` (of `request`, however computed) each with its previous period's value,
    which knows its period; a KPI whose definition does not compare (a state as of now)
    gets none rather than the same state again."""
    before = request.previous()
    return [
        replace(
            v,
            previous=replace(kpi_compute(v.definition.id, before), period=before.time_range),
        )
        if v.definition.compares
        else v
        for v in values
    ]


def series_buckets(request: KpiRequest, bucket: str) -> list[tuple[datetime, datetime]]:
    """The window cut at `bucket` boundaries (UTC); the first and last may be partial."""
    if bucket not in BUCKETS:
        raise ValueError(f"bucket must be one of {', '.join(BUCKETS)}")
    start, end = request.time_range.start, request.time_range.end
    parts: list[tuple[datetime, datetime]] = []
    lo = start
    while lo < end:
        # The next boundary after lo (lo itself when it is one: then step a bucket on).
        hi = bucket_ceil(lo + timedelta(microseconds=1), granularity=bucket)
        parts.append((lo, min(hi, end)))
        lo = hi
    return parts


def kpi_series(kpi_id: str, request: KpiRequest, bucket: str) -> list[tuple[datetime, Number]]:
    """KPI `kpi_id` per `bucket` ("hour", "day", "week") over the request's window, as
    (bucket start, value); the first and last buckets count only the window's part."""
    provider = _provider(kpi_id)
    laid_out = None
    if provider.series is not None and kpi_id in provider.series_ids:
        laid_out = request.remember(
            ("series", provider.name, bucket), lambda: provider.series(request, bucket)
        )
    parts = series_buckets(request, bucket)
    if laid_out is not None:
        values = dict(laid_out.get(kpi_id, []))
        return [(floor, values.get(floor)) for floor in _floors(parts, bucket)]
    return [
        (floor, kpi_compute(kpi_id, request.within(lo, hi)).value)
        for floor, (lo, hi) in zip(_floors(parts, bucket), parts, strict=True)
    ]


def _floors(parts: list[tuple[datetime, datetime]], bucket: str) -> list[datetime]:
    return [bucket_floor(lo, granularity=bucket) for lo, _ in parts]
