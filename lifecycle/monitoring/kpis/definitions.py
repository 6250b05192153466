"""The monitoring phase's KPI definitions: what each serving number means, in words."""

from __future__ import annotations

from lifecycle.catalog.kpis import Direction, Unit, kpi_define
from lifecycle.catalog.models import SYSTEM_FAILURE_CLASSES, FailureClass

PHASE = "monitoring"

# Shadow copies are left out of every serving KPI but the two that count them.
_NO_SHADOW = " Shadow copies are left out (see shadow_inferences)."
INFERENCES = kpi_define(
    id="inferences",
    phase=PHASE,
    label="Inferences",
    unit=Unit.COUNT,
    direction=Direction.NEUTRAL,
    formula="Number of serving events (successful and failed) whose event time is in the "
    "window." + _NO_SHADOW,
)
SHADOW_INFERENCES = kpi_define(
    id="shadow_inferences",
    phase=PHASE,
    label="Shadow copies",
    unit=Unit.COUNT,
    direction=Direction.NEUTRAL,
    formula="Serving events in the window answered by a version deployed in the shadow "
    "role on the event's endpoint at the event's time: copies of production requests, "
    "counted here and not in inferences, throughput, errors, latency, callers or calls. "
    "The champion-vs-challenger comparison reads them.",
)
SHADOW_COST_USD = kpi_define(
    id="shadow_cost_usd",
    phase=PHASE,
    label="Shadow cost",
    unit=Unit.USD,
    direction=Direction.LOWER_IS_BETTER,
    formula="Sum of the cost of the shadow copies in the window (each event's own cost_usd, "
    "or its model's unit cost): compute spent on trying a challenger, kept apart from "
    "the serving cost of the requests.",
)
THROUGHPUT_PER_MINUTE = kpi_define(
    id="throughput_per_minute",
    phase=PHASE,
    label="Inferences per minute",
    unit=Unit.PER_MINUTE,
    direction=Direction.NEUTRAL,
    formula="Inferences divided by the length of the window in minutes.",
)
THROUGHPUT_PER_HOUR = kpi_define(
    id="throughput_per_hour",
    phase=PHASE,
    label="Inferences per hour",
    unit=Unit.PER_HOUR,
    direction=Direction.NEUTRAL,
    formula="Inferences divided by the length of the window in hours.",
)
THROUGHPUT_PER_DAY = kpi_define(
    id="throughput_per_day",
    phase=PHASE,
    label="Inferences per day",
    unit=Unit.PER_DAY,
    direction=Direction.NEUTRAL,
    formula="Inferences divided by the length of the window in days.",
)
ERRORS = kpi_define(
    id="errors",
    phase=PHASE,
    label="Failed inferences",
    unit=Unit.COUNT,
    direction=Direction.LOWER_IS_BETTER,
    formula="Number of serving events with status error (any failure class) in the window."
    + _NO_SHADOW,
)
ERROR_RATE = kpi_define(
    id="error_rate",
    phase=PHASE,
    label="Error rate",
    unit=Unit.FRACTION,
    direction=Direction.LOWER_IS_BETTER,
    formula="Failed inferences (status error, any failure class) divided by all inferences "
    "in the window; empty when there were none." + _NO_SHADOW,
)
_PERCENTILE_NOTE = (
    " Read from log-bucketed histograms: within 0.5% of the exact value (linear "
    "interpolation between ranks)."
)
LATENCY_P50 = kpi_define(
    id="latency_p50_ms",
    phase=PHASE,
    label="Latency p50",
    unit=Unit.MILLISECONDS,
    direction=Direction.LOWER_IS_BETTER,
    formula="Median latency of the successful inferences in the window." + _PERCENTILE_NOTE,
)
LATENCY_P95 = kpi_define(
    id="latency_p95_ms",
    phase=PHASE,
    label="Latency p95",
    unit=Unit.MILLISECONDS,
    direction=Direction.LOWER_IS_BETTER,
    formula="95th percentile of the latency of the successful inferences in the window: "
    "95% were at least this fast." + _PERCENTILE_NOTE,
)
LATENCY_P99 = kpi_define(
    id="latency_p99_ms",
    phase=PHASE,
    label="Latency p99",
    unit=Unit.MILLISECONDS,
    direction=Direction.LOWER_IS_BETTER,
    formula="99th percentile of the latency of the successful inferences in the window."
    + _PERCENTILE_NOTE,
)
# The failure classes that make a minute down, in words (not bad request: the caller's).
_SYSTEM_CLASSES = ", ".join(
    c.label.lower() for c in FailureClass if c.value in SYSTEM_FAILURE_CLASSES
)
UPTIME = kpi_define(
    id="uptime",
    phase=PHASE,
    label="Uptime",
    unit=Unit.FRACTION,
    direction=Direction.HIGHER_IS_BETTER,
    formula="Share of the window's minutes with traffic in which the model answered "
    f"without a system-class error ({_SYSTEM_CLASSES}): 1 - minutes with such an error / "
    "minutes with traffic. A minute without traffic is neither up nor down; a minute "
    "counts once per model, down if any selected version or endpoint failed in it. "
    "Empty when there was no traffic.",
)
REQUEST_AVAILABILITY = kpi_define(
    id="request_availability",
    phase=PHASE,
    label="Request availability",
    unit=Unit.FRACTION,
    direction=Direction.HIGHER_IS_BETTER,
    formula="Share of the window's inferences that did not fail with a system-class "
    f"error ({_SYSTEM_CLASSES}); request-weighted, so a short outage at low traffic "
    "weighs little. Empty when there were none.",
)
SLA_COMPLIANCE = kpi_define(
    id="sla_compliance",
    phase=PHASE,
    label="SLA compliance",
    unit=Unit.FRACTION,
    direction=Direction.HIGHER_IS_BETTER,
    formula="For one model: the share of its SLA targets met over the window, among those "
    "it has (p95 latency <= target, error rate <= target, uptime in minutes >= target). "
    "For several models: the share of the models with targets and traffic that met all "
    "of theirs. Empty when no model has both. The answer lists the targets missed, each "
    "with its value and target.",
)
COST_USD = kpi_define(
    id="cost_usd",
    phase=PHASE,
    label="Serving cost",
    unit=Unit.USD,
    direction=Direction.LOWER_IS_BETTER,
    formula="Sum of the cost of the inferences in the window: each event's own cost_usd, "
    "or its model's unit cost per prediction when it carries none. Shadow copies cost "
    "compute too: theirs is shadow_cost_usd, not included here.",
)
COST_PER_1000 = kpi_define(
    id="cost_per_1000_predictions",
    phase=PHASE,
    label="Cost per 1,000 predictions",
    unit=Unit.USD,
    direction=Direction.LOWER_IS_BETTER,
    formula="Serving cost divided by inferences, times 1,000; empty when there were none.",
)
ERRORS_BY_CLASS = kpi_define(
    id="errors_by_failure_class",
    phase=PHASE,
    label="Errors by failure class",
    unit=Unit.COUNT,
    direction=Direction.LOWER_IS_BETTER,
    formula="Failed inferences in the window, counted per failure class (dependency, "
    "deployment, hardware, downtime/crash, timeout, bad request, other).",
)


LABEL_COVERAGE = kpi_define(
    id="label_coverage",
    phase=PHASE,
    label="Label coverage",
    unit=Unit.FRACTION,
    direction=Direction.HIGHER_IS_BETTER,
    formula="Share of the window's inferences that have a ground-truth label (joined by "
    "event_id within the event's team, whenever the label arrived); empty when there were "
    "no inferences.",
)
LABEL_DELAY_P50 = kpi_define(
    id="label_delay_p50_hours",
    phase=PHASE,
    label="Label delay (median)",
    unit=Unit.HOURS,
    direction=Direction.LOWER_IS_BETTER,
    formula="Median of label time minus event time, in hours, over the labelled "
    "inferences of the window.",
)
LABEL_DELAY_P90 = kpi_define(
    id="label_delay_p90_hours",
    phase=PHASE,
    label="Label delay (p90)",
    unit=Unit.HOURS,
    direction=Direction.LOWER_IS_BETTER,
    formula="90th percentile of label time minus event time, in hours, over the labelled "
    "inferences of the window.",
)
