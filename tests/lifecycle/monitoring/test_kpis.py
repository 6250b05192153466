"""Serving KPIs, read from the rollups, against an independent pandas recomputation over
the raw events (percentiles within 1%)."""

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.http import QueryDict

from ingestion.rollups import rollups_rebuild
from lifecycle.catalog.models import FailureClass, Label, ServingEvent
from lifecycle.catalog.windows import TimeRange
from lifecycle.monitoring.kpis import (
    errors_by_class_series,
    label_summary,
    latency_series,
    rollup_segments,
    serving_breakdown,
    serving_scope,
    serving_series,
    serving_summary,
    serving_summary_by,
)
from lifecycle.value.kpis import callers_count, calls_count
from tests import factories

pytestmark = pytest.mark.django_db
PERCENTILE_TOLERANCE = 0.01
# Every failure class but the caller's own (a bad request) is the serving system's.
SYSTEM_CLASSES = {"dependency", "deployment", "hardware", "downtime", "timeout", "other"}


def _scope(query: str = "window=7d"):
    scope, errors = serving_scope(QueryDict(query))
    assert not errors
    return scope


@pytest.fixture
def mixed_events(fraud_scorer, recommender, now):
    """600 events over two models and six days: lognormal latencies, errors of every
    class (some with a latency), callers, costs; rolled up."""
    rng = np.random.default_rng(3)
    versions = [factories.version_make(fraud_scorer), factories.version_make(recommender)]
    events = []
    for i in range(600):
        version = versions[i % 2]
        failed = rng.random() < 0.12
        event = factories.event_build(
            version,
            timestamp=now - timedelta(seconds=int(rng.integers(1, 6 * 86400))),
            latency_ms=float(rng.lognormal(3, 0.6)) if not failed or i % 3 else None,
            status="error" if failed else "ok",
            error_type=str(rng.choice(FailureClass.values)) if failed else "",
            caller=str(rng.choice(["checkout", "mobile", "batch-job", ""])),
        )
        event.cost_usd = Decimal(f"{rng.integers(1, 500) / 1e5:.8f}")
        events.append(event)
    ServingEvent.objects.bulk_create(events)
    rollups_rebuild()
    return ServingEvent.objects.all()


_COLUMNS = ("model_id", "status", "error_type", "latency_ms", "caller", "cost_usd", "timestamp")


def _raw(query=ServingEvent.objects) -> pd.DataFrame:
    frame = pd.DataFrame(list(query.values(*_COLUMNS)), columns=list(_COLUMNS))
    frame["cost_usd"] = frame["cost_usd"].astype(float)
    return frame


def _close(value, exact):
    return value == pytest.approx(exact, rel=PERCENTILE_TOLERANCE)


@pytest.mark.recomputes(
    "inferences",
    "errors",
    "error_rate",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "cost_usd",
    "cost_per_1000_predictions",
    "errors_by_failure_class",
    "uptime",
    "request_availability",
)
def test_the_summary_equals_a_recomputation(mixed_events):
    raw = _raw()
    summary = serving_summary(_scope())
    ok = raw[raw.status == "ok"].latency_ms
    assert summary.inferences == len(raw)
    assert summary.errors == (raw.status == "error").sum()
    assert summary.error_rate == pytest.approx((raw.status == "error").mean())
    for name, q in (("p50", 50), ("p95", 95), ("p99", 99)):
        assert _close(summary.latency_ms[name], np.percentile(ok, q))
    assert float(summary.cost_usd) == pytest.approx(raw.cost_usd.sum())
    assert summary.cost_per_1000 == pytest.approx(raw.cost_usd.sum() / len(raw) * 1000)
    expected_classes = raw[raw.status == "error"].groupby("error_type").size().to_dict()
    assert summary.errors_by_class == expected_classes
    system = raw.error_type.isin(SYSTEM_CLASSES)
    assert summary.request_availability == pytest.approx(1 - system.sum() / len(raw))
    # Per model and minute: down when any of its events failed on the system's side.
    minutes = (
        raw.assign(minute=raw.timestamp.dt.floor("min"), down=system)
        .groupby(["model_id", "minute"])
        .down.any()
    )
    assert summary.uptime == pytest.approx(1 - minutes.sum() / len(minutes))
    assert summary.uptime < summary.request_availability  # 12% errors, spread thin


def test_the_summary_per_model_equals_a_recomputation(mixed_events):
    raw = _raw()
    for model_id, summary in serving_summary_by(_scope(), group_by="model").items():
        part = raw[raw.model_id == model_id]
        assert summary.inferences == len(part)
        assert summary.errors == (part.status == "error").sum()
        ok = part[part.status == "ok"].latency_ms
        for name, q in (("p50", 50), ("p95", 95), ("p99", 99)):
            assert _close(summary.latency_ms[name], np.percentile(ok, q))


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (timedelta(days=5, hours=3, minutes=17, seconds=12), timedelta(hours=2, seconds=40)),
        (timedelta(hours=30, seconds=5), timedelta(hours=26, minutes=58, seconds=3)),
        (timedelta(days=6), timedelta(0)),
    ],
)
def test_any_custom_window_equals_a_recomputation_to_the_second(mixed_events, now, start, end):
    lo, hi = now - start, now - end
    query = f"start={lo.isoformat()}&end={hi.isoformat()}".replace("+", "%2B")
    raw = _raw(ServingEvent.objects.filter(timestamp__gte=lo, timestamp__lt=hi))
    summary = serving_summary(_scope(query))
    assert summary.inferences == len(raw)
    assert summary.errors == (raw.status == "error").sum()
    assert float(summary.cost_usd) == pytest.approx(raw.cost_usd.sum())
    ok = raw[raw.status == "ok"].latency_ms
    assert _close(summary.latency_ms["p95"], np.percentile(ok, 95))


# The two tests below cut fixed moments with a pure function that reads no clock, so their
# calendar dates may stay.
def test_the_window_is_cut_into_the_coarsest_parts_that_fit():  # raw events at the edges
    start = datetime(2026, 11, 1, 22, 58, 30, tzinfo=UTC)
    end = datetime(2026, 11, 4, 1, 2, 10, tzinfo=UTC)
    parts = rollup_segments(start, end)
    assert [g for g, _, _ in parts] == [None, "hour", "day", "hour", None]
    assert parts[0][1] == start and parts[-1][2] == end
    assert all(a[2] == b[1] for a, b in itertools.pairwise(parts))


def test_a_bucket_the_end_cuts_is_read_whole_when_no_event_follows_the_end():
    start = datetime(2026, 11, 1, 22, 58, 30, tzinfo=UTC)
    end = datetime(2026, 11, 4, 1, 2, 10, tzinfo=UTC)
    day_end = datetime(2026, 11, 5, tzinfo=UTC)
    # Nothing stored after the end today: today's day row holds exactly the window's part.
    parts = rollup_segments(start, end, quiet_until=day_end)
    assert [g for g, _, _ in parts] == [None, "hour", "day"]
    assert parts[-1][1:] == (datetime(2026, 11, 2, tzinfo=UTC), day_end)
    # An event at 02:40: the day is not quiet, the hour ending 02:00 is.
    parts = rollup_segments(start, end, quiet_until=end.replace(hour=2, minute=40))
    assert [g for g, _, _ in parts] == [None, "hour", "day", "hour"]
    assert parts[-1][1:] == (
        datetime(2026, 11, 4, tzinfo=UTC),
        end.replace(hour=2, minute=0, second=0),
    )
    # An event at 01:30: that hour's rollup holds more than the window, so raw events.
    parts = rollup_segments(start, end, quiet_until=end.replace(minute=30))
    assert [g for g, _, _ in parts] == [None, "hour", "day", "hour", None]
    assert parts[-1][1:] == (end.replace(minute=0, second=0), end)
    # A bucket that starts before the window is never read whole.
    inside = rollup_segments(start, start + timedelta(seconds=50), quiet_until=day_end)
    assert inside == [(None, start, start + timedelta(seconds=50))]


def test_a_window_ending_now_reads_the_current_hour_from_its_rollup(fraud_scorer, now):
    """The window's last, partial bucket comes from the rollup when nothing was stored
    after the end; from the raw events when something was. Both equal a recomputation."""
    version = factories.version_make(fraud_scorer)
    moments = [now - timedelta(days=d, minutes=m) for d in range(3) for m in (1, 20, 50, 70)]
    rng = np.random.default_rng(5)
    ServingEvent.objects.bulk_create(
        [
            factories.event_build(version, timestamp=m, latency_ms=float(rng.lognormal(3, 0.5)))
            for m in moments
        ]
    )
    rollups_rebuild()
    scope = _scope("window=7d")
    end = scope.time_range.end
    midnight = end.replace(hour=0, minute=0, second=0, microsecond=0)
    next_monday = midnight + timedelta(days=7 - end.weekday())
    assert scope.quiet_until == next_monday
    assert all(g is not None for g, _, _ in scope.segments())
    raw = _raw(ServingEvent.objects.filter(timestamp__gte=scope.time_range.start))
    summary = serving_summary(scope)
    assert summary.inferences == len(raw)
    assert _close(summary.latency_ms["p95"], np.percentile(raw.latency_ms, 95))
    # A client whose clock runs ahead: an event after the end in the current week.
    ahead = now + timedelta(seconds=30)
    ServingEvent.objects.bulk_create([factories.event_build(version, timestamp=ahead)])
    rollups_rebuild()
    scope = _scope(
        f"start={scope.time_range.start.isoformat()}&end={now.isoformat()}".replace("+", "%2B")
    )
    assert scope.quiet_until == min(ahead, next_monday)
    assert scope.segments()[-1][0] is None  # the partial hour from the raw events
    assert serving_summary(scope).inferences == len(raw)


def test_failed_events_do_not_count_towards_latency(fraud_scorer):
    version = factories.version_make(fraud_scorer)
    ServingEvent.objects.bulk_create(
        [
            factories.event_build(version, latency_ms=10.0),
            factories.event_build(version, latency_ms=5000.0, status="error", error_type="timeout"),
        ]
    )
    rollups_rebuild()
    summary = serving_summary(_scope())
    assert _close(summary.latency_ms["p99"], 10.0)
    assert summary.error_rate == 0.5


def test_no_events_give_no_rates(db):
    summary = serving_summary(_scope())
    assert summary.inferences == 0
    assert summary.error_rate is None and summary.uptime is None
    assert summary.latency_ms == {"p50": None, "p95": None, "p99": None}


def test_throughput_divides_by_the_window(fraud_scorer, now):
    version = factories.version_make(fraud_scorer)
    ServingEvent.objects.bulk_create(
        [factories.event_build(version, timestamp=now - timedelta(minutes=5)) for _ in range(48)]
    )
    rollups_rebuild()
    kpis = {
        k.definition.id: k.value
        for k in serving_summary(_scope("window=7d")).kpis(
            TimeRange(now - timedelta(days=2), now, "2 days")
        )
    }
    assert kpis["throughput_per_day"] == pytest.approx(24)
    assert kpis["throughput_per_hour"] == pytest.approx(1)
    assert kpis["throughput_per_minute"] == pytest.approx(1 / 60)


def test_sla_compliance_is_the_share_of_targets_met(fraud_scorer):
    version = factories.version_make(fraud_scorer)  # targets: p95 <= 50 ms, errors <= 1%
    ServingEvent.objects.bulk_create(
        [factories.event_build(version, latency_ms=20.0) for _ in range(98)]
        + [factories.event_build(version, status="error", error_type="timeout") for _ in range(2)]
    )
    rollups_rebuild()
    summary = serving_summary(_scope())
    assert summary.sla_checks(fraud_scorer) == [True, False]
    assert summary.sla_compliance(fraud_scorer) == 0.5


@pytest.mark.recomputes("unique_callers", "calls")
def test_the_portfolio_breakdown_adds_up_to_its_models(mixed_events):
    raw = pd.DataFrame(list(ServingEvent.objects.values("model_id", "status")))
    breakdown = serving_breakdown(_scope())
    assert {m: s.inferences for m, s in breakdown.by_model.items()} == (
        raw.groupby("model_id").size().to_dict()
    )
    assert breakdown.total.inferences == len(raw)
    assert breakdown.total.errors == (raw.status == "error").sum()


def test_callers_and_teams_over_rollups_and_raw_edges_equal_a_recomputation(mixed_events):
    # Business value owns calls and callers; the mixed rollup and raw parts are here.
    raw = _raw()
    scope = _scope()
    assert callers_count(scope=scope) == raw[raw.caller != ""].caller.nunique()
    by_caller = {row.key: row.calls for row in calls_count(scope=scope, group_by="caller")}
    assert by_caller == raw.caller.replace("", "(unknown)").value_counts().to_dict()
    by_team = calls_count(scope=scope, group_by="model__team__name")
    assert sum(r.calls for r in by_team) == len(raw) and {r.key for r in by_team} == {
        "risk",
        "growth",
    }


def test_the_series_buckets_by_hour_and_sums_to_the_total(mixed_events):
    series = serving_series(_scope("window=7d"))
    assert series.inferences.sum() == mixed_events.count()
    assert series.errors.sum() == mixed_events.filter(status="error").count()
    buckets = pd.to_datetime(series.bucket)
    assert (buckets.dt.minute == 0).all() and buckets.is_monotonic_increasing


def test_the_error_series_per_class_equals_a_recomputation(mixed_events):
    raw = _raw()
    series = errors_by_class_series(_scope("window=7d"))
    assert series.groupby("error_type").errors.sum().to_dict() == (
        raw[raw.status == "error"].groupby("error_type").size().to_dict()
    )


def test_the_latency_series_per_day_matches_each_days_percentiles(mixed_events):
    raw = _raw()
    raw = raw[raw.status == "ok"]
    raw["day"] = raw.timestamp.dt.floor("D")
    series = latency_series(_scope("window=30d")).set_index("bucket")
    for day, part in raw.groupby("day"):
        assert _close(series.loc[day, "p95"], np.percentile(part.latency_ms, 95))


def test_every_hour_of_the_series_equals_a_recomputation(mixed_events):
    scope = _scope("window=7d")
    raw = _raw(ServingEvent.objects.filter(timestamp__gte=scope.time_range.start))
    expected = raw.groupby(raw.timestamp.dt.floor("h")).size()
    series = serving_series(scope).set_index("bucket").inferences
    series.index = pd.to_datetime(series.index, utc=True)
    # The hours without an event are in the series as zeros.
    assert series[series > 0].to_dict() == expected.to_dict()
    hours = pd.date_range(scope.time_range.start, scope.time_range.end, freq="h", inclusive="left")
    assert list(series.index) == list(hours)


@pytest.mark.recomputes("label_coverage", "label_delay_p50_hours", "label_delay_p90_hours")
def test_label_coverage_and_delay_equal_a_recomputation(mixed_events, now):
    rng = np.random.default_rng(9)
    events = list(ServingEvent.objects.values_list("event_id", "team_id", "timestamp"))
    labelled = [events[i] for i in rng.choice(len(events), 150, replace=False)]
    Label.objects.bulk_create(
        [
            Label(
                event_id=event_id,
                team_id=team_id,
                label=1,
                timestamp=served + timedelta(hours=float(rng.exponential(6))),
                received_at=now,
            )
            for event_id, team_id, served in labelled
        ]
        + [
            Label(
                event_id="never-served",
                team_id=events[0][1],
                label=0,
                timestamp=now,
                received_at=now,
            )
        ]
    )
    scope = _scope("window=7d")
    summary = label_summary(scope, inferences=serving_summary(scope).inferences)
    kpis = {k.definition.id: k.value for k in summary.kpis()}
    frame = pd.DataFrame(
        list(Label.objects.exclude(event_id="never-served").values("event_id", "timestamp"))
    ).merge(_raw_with_ids(), on="event_id", suffixes=("_label", "_event"))
    delays = (frame.timestamp_label - frame.timestamp_event).dt.total_seconds() / 3600
    assert kpis["label_coverage"] == pytest.approx(150 / ServingEvent.objects.count())
    assert kpis["label_delay_p50_hours"] == pytest.approx(np.percentile(delays, 50))
    assert kpis["label_delay_p90_hours"] == pytest.approx(np.percentile(delays, 90))


def _raw_with_ids() -> pd.DataFrame:
    return pd.DataFrame(list(ServingEvent.objects.values("event_id", "timestamp")))


def _range(start: datetime, end: datetime) -> str:
    return f"start={start:%Y-%m-%dT%H:%M:%SZ}&end={end:%Y-%m-%dT%H:%M:%SZ}"


def test_an_event_without_cost_costs_its_unit_cost_in_raw_edges_and_rollups(fraud_scorer, now):
    version = factories.version_make(fraud_scorer)  # unit cost 0.0001
    day = now.replace(hour=0, minute=0) - timedelta(days=30)
    moment = day + timedelta(hours=10, minutes=20)
    ServingEvent.objects.bulk_create(
        [factories.event_build(version, timestamp=moment + timedelta(hours=h)) for h in (0, 30)]
    )
    rollups_rebuild()
    # Inside one hour: raw events only.
    edge = _range(moment - timedelta(minutes=15), moment + timedelta(minutes=15))
    assert float(serving_summary(_scope(edge)).cost_usd) == pytest.approx(0.0001)
    whole = _range(day, day + timedelta(days=2))  # days: rollups only
    assert float(serving_summary(_scope(whole)).cost_usd) == pytest.approx(0.0002)


def test_a_named_window_starts_where_its_first_chart_bucket_starts(db, now):
    week = _scope("window=7d").time_range  # hour buckets
    assert (week.start.minute, week.start.second, week.start.microsecond) == (0, 0, 0)
    assert timedelta(days=7) <= week.duration < timedelta(days=7, hours=1)
    month = _scope("window=30d").time_range  # day buckets, midnight UTC
    assert month.start == month.start.replace(hour=0, minute=0, second=0, microsecond=0)
    assert timedelta(days=30) <= month.duration < timedelta(days=31)
    odd = now.replace(hour=10, minute=17, second=3) - timedelta(days=32)
    custom = _scope(_range(odd, now.replace(hour=0, minute=0) - timedelta(days=30))).time_range
    assert custom.start == odd
    hour = _scope("window=1h").time_range  # minute buckets
    assert (hour.start.second, hour.start.microsecond) == (0, 0)
    assert timedelta(hours=1) <= hour.duration < timedelta(hours=1, minutes=1)
