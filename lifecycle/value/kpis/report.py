"""The value report: everything the value page and its API answer for one scope."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import QueryDict

from lifecycle.catalog.kpis import KpiValue
from lifecycle.catalog.serving.scope import ServingScope, serving_scope
from lifecycle.catalog.windows import TimeRange
from lifecycle.value.kpis.calls import CALLS_BY, CallCount, callers_count, calls_count
from lifecycle.value.kpis.costs import ModelCost, model_costs_sum
from lifecycle.value.kpis.definitions import CALLS, UNIQUE_CALLERS

TOP_CALLERS = 50


@dataclass(frozen=True)
class ValueReport:
    """Everything the value page and its API answer, for one scope."""

    time_range: TimeRange
    kpis: list[KpiValue]
    by_caller: list[CallCount]
    by_team: list[CallCount]
    by_business_unit: list[CallCount]
    cost_by_model: list[ModelCost]


def value_report(*, scope: ServingScope) -> ValueReport:
    by_caller = calls_count(scope=scope, group_by=CALLS_BY["caller"])
    return ValueReport(
        time_range=scope.time_range,
        kpis=[
            KpiValue(UNIQUE_CALLERS, callers_count(scope=scope)),
            KpiValue(CALLS, sum(row.calls for row in by_caller)),
        ],
        by_caller=by_caller[:TOP_CALLERS],
        by_team=calls_count(scope=scope, group_by=CALLS_BY["team"]),
        by_business_unit=calls_count(scope=scope, group_by=CALLS_BY["business_unit"]),
        cost_by_model=model_costs_sum(scope=scope),
    )


def value_report_read(
    *, params: QueryDict
) -> tuple[ValueReport | None, TimeRange, dict[str, list[str]]]:
    """The report of a request's filters (validated by the value filter set's dimensions),
    its window, and the filter errors (the report is None when there are any)."""
    scope, errors = serving_scope(params)
    if errors:
        return None, scope.time_range, errors
    return value_report(scope=scope), scope.time_range, {}
