"""The value report: everything the value page and its API answer for one scope."""

from __future__ import annotations

from dataclasses import dataclass

from lifecycle.catalog.kpis import KpiRequest, KpiValue, kpi_values
from lifecycle.catalog.windows import TimeRange
from lifecycle.value.kpis.calls import CALLS_BY, CallCount, calls_count
from lifecycle.value.kpis.costs import ModelCost, model_costs_sum
from lifecycle.value.kpis.definitions import CALLS, UNIQUE_CALLERS

TOP_CALLERS = 50
# The tiles of the value page and the `kpis` of its API, in that order.
VALUE_REPORT_IDS = [UNIQUE_CALLERS.id, CALLS.id]


@dataclass(frozen=True)
class ValueReport:
    """Everything the value page and its API answer, for one scope."""

    time_range: TimeRange
    kpis: list[KpiValue]
    by_caller: list[CallCount]
    by_team: list[CallCount]
    by_business_unit: list[CallCount]
    cost_by_model: list[ModelCost]


def request_calls_by(request: KpiRequest, by: str) -> list[CallCount]:
    """Calls per `by` (a key of CALLS_BY) of the request, read once per request."""
    return request.remember(
        ("value", "calls_by", by),
        lambda: calls_count(scope=request.serving_scope(), group_by=CALLS_BY[by]),
    )


def request_model_costs(request: KpiRequest) -> list[ModelCost]:
    return request.remember(
        ("value", "model_costs"), lambda: model_costs_sum(scope=request.serving_scope())
    )


def value_report(request: KpiRequest) -> ValueReport:
    """The value KPIs of `request` (through the KPI engine) and their breakdowns; raises
    KpiRequestError for a filter that cannot be read."""
    return ValueReport(
        time_range=request.serving_scope().time_range,
        kpis=kpi_values(VALUE_REPORT_IDS, request),
        by_caller=request_calls_by(request, "caller")[:TOP_CALLERS],
        by_team=request_calls_by(request, "team"),
        by_business_unit=request_calls_by(request, "business_unit"),
        cost_by_model=request_model_costs(request),
    )
