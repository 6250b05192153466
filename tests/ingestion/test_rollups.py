"""Rollups against a pandas recomputation from the raw events, and their idempotence."""

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command

from ingestion.models import RollupMark
from ingestion.rollups import rollups_mark, rollups_rebuild, rollups_refresh
from lifecycle.catalog.latency import (
    histogram_blobs_merge,
    histogram_count,
    histogram_from_latencies,
)
from lifecycle.catalog.models import FailureClass, LatencyRollup, ServingEvent, ServingRollup
from tests import factories

pytestmark = pytest.mark.django_db
CLASSES = FailureClass.values


@pytest.fixture
def t0(now):
    """Wednesday 22:30 UTC of the week before last: six days from it cross last week's
    Monday, a week's end."""
    this_monday = now.replace(hour=0, minute=0) - timedelta(days=now.weekday())
    return this_monday - timedelta(days=12) + timedelta(hours=22, minutes=30)


@pytest.fixture
def traffic(fraud_scorer, recommender, scoring, t0):
    """600 events over six days across a week's end (a Monday), two models,
    three versions, endpoints and callers."""
    rng = np.random.default_rng(11)
    versions = [
        factories.version_make(fraud_scorer, "1"),
        factories.version_make(fraud_scorer, "2"),
        factories.version_make(recommender, "1"),
    ]
    events = []
    for i in range(600):
        failed = rng.random() < 0.15
        event = factories.event_build(
            versions[i % 3],
            event_id=f"t-{i}",
            timestamp=t0 + timedelta(seconds=int(rng.integers(0, 6 * 86400))),
            latency_ms=float(rng.lognormal(3, 0.7)) if not failed else None,
            status="error" if failed else "ok",
            error_type=str(rng.choice(CLASSES)) if failed else "",
            caller=str(rng.choice(["checkout", "mobile", ""])),
            endpoint=scoring if i % 2 else None,
        )
        event.cost_usd = f"{rng.integers(1, 1000) / 1e6:.8f}"
        event.prediction = float(rng.random()) if i % 4 else "yes"
        events.append(event)
    ServingEvent.objects.bulk_create(events)
    rollups_rebuild()


def _raw() -> pd.DataFrame:
    raw = pd.DataFrame(
        list(
            ServingEvent.objects.values(
                "timestamp",
                "model_version_id",
                "endpoint_id",
                "caller",
                "status",
                "error_type",
                "latency_ms",
                "cost_usd",
                "prediction",
            )
        )
    )
    raw["endpoint_id"] = raw["endpoint_id"].fillna(-1)
    raw["cost_usd"] = raw["cost_usd"].astype(float)
    raw["prediction"] = [p if isinstance(p, float) else np.nan for p in raw["prediction"]]
    return raw


def _rollups(granularity: str) -> pd.DataFrame:
    frame = pd.DataFrame(list(ServingRollup.objects.filter(granularity=granularity).values()))
    frame["endpoint_id"] = frame["endpoint_id"].fillna(-1)
    frame["cost_usd"] = frame["cost_usd"].astype(float)
    return frame


def _bucket_starts(timestamps: pd.Series, granularity: str) -> pd.Series:
    if granularity == "week":  # Monday 00:00 UTC
        days = timestamps.dt.floor("D")
        return days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    return timestamps.dt.floor({"hour": "h", "day": "D"}[granularity])


@pytest.mark.parametrize("granularity", ["hour", "day", "week"])
def test_every_rollup_equals_a_recomputation_from_raw_events(traffic, granularity):
    raw = _raw()
    raw["bucket_start"] = _bucket_starts(raw["timestamp"], granularity)
    assert granularity != "week" or raw["bucket_start"].nunique() == 2
    raw["is_error"] = raw["status"] == "error"
    for failure_class in CLASSES:
        raw[f"errors_{failure_class}"] = raw["error_type"] == failure_class
    keys = ["bucket_start", "model_version_id", "endpoint_id", "caller"]
    expected = raw.groupby(keys).agg(
        inferences=("status", "size"),
        errors=("is_error", "sum"),
        cost_usd=("cost_usd", "sum"),
        latency_count=("latency_ms", "count"),
        latency_sum_ms=("latency_ms", "sum"),
        prediction_count=("prediction", "count"),
        prediction_sum=("prediction", "sum"),
        prediction_min=("prediction", "min"),
        prediction_max=("prediction", "max"),
        **{f"errors_{c}": (f"errors_{c}", "sum") for c in CLASSES},
    )
    actual = _rollups(granularity).set_index(keys).sort_index()
    expected = expected.sort_index()
    assert list(actual.index) == list(expected.index)
    for column in expected.columns:
        assert np.allclose(
            actual[column].astype(float), expected[column].astype(float), equal_nan=True
        ), column


@pytest.mark.parametrize("granularity", ["hour", "day", "week"])
def test_latency_rollups_count_every_event_of_their_bucket_version_and_endpoint(
    traffic, granularity
):
    """Callers merged; a bucket where nothing succeeded has its row (empty histogram)."""
    raw = _raw()
    raw["bucket_start"] = _bucket_starts(raw["timestamp"], granularity)
    raw["is_error"] = raw["status"] == "error"
    for failure_class in CLASSES:
        raw[f"errors_{failure_class}"] = raw["error_type"] == failure_class
    keys = ["bucket_start", "model_version_id", "endpoint_id"]
    expected = raw.groupby(keys).agg(
        inferences=("status", "size"),
        errors=("is_error", "sum"),
        cost_usd=("cost_usd", "sum"),
        **{f"errors_{c}": (f"errors_{c}", "sum") for c in CLASSES},
    )
    actual = pd.DataFrame(
        list(LatencyRollup.objects.filter(granularity=granularity).values(*keys, *expected))
    )
    actual["endpoint_id"] = actual["endpoint_id"].fillna(-1)
    actual = actual.set_index(keys).sort_index()
    expected = expected.sort_index()
    assert list(actual.index) == list(expected.index)
    for column in expected.columns:
        assert np.allclose(actual[column].astype(float), expected[column].astype(float)), column


def test_a_bucket_where_everything_failed_has_counts_and_no_latency(fraud_scorer, t0):
    version = factories.version_make(fraud_scorer, "1")
    ServingEvent.objects.bulk_create(
        [
            factories.event_build(
                version, timestamp=t0, status="error", error_type="timeout", latency_ms=None
            )
        ]
    )
    rollups_rebuild()
    row = LatencyRollup.objects.get(granularity="hour")
    assert (row.inferences, row.errors, row.errors_timeout) == (1, 1, 1)
    assert histogram_count(histogram_blobs_merge([row.histogram])) == 0


def test_latency_histograms_merge_to_the_histogram_of_the_raw_latencies(traffic):
    raw = _raw()
    whole = histogram_from_latencies(raw["latency_ms"].dropna().to_numpy())
    for granularity in ("hour", "day", "week"):
        blobs = LatencyRollup.objects.filter(granularity=granularity).values_list(
            "histogram", flat=True
        )
        merged = histogram_blobs_merge(blobs)
        assert np.array_equal(merged[0], whole[0]) and np.array_equal(merged[1], whole[1])


def _snapshot() -> list:
    fields = ("granularity", "bucket_start", "model_version_id", "endpoint_id", "caller")
    serving = ServingRollup.objects.values_list(*fields, "inferences", "errors", "cost_usd")
    latency = LatencyRollup.objects.values_list(*fields[:4], "histogram")
    # repr sorts rows whose endpoint is None next to rows whose endpoint is a number.
    return sorted(map(repr, serving)) + sorted(repr((*r[:4], bytes(r[4]))) for r in latency)


def test_refreshing_again_changes_nothing(traffic):
    before = _snapshot()
    rollups_mark()
    assert RollupMark.objects.exists()
    rollups_refresh(max_marks=7)  # small batches: each day merged many times over
    assert not RollupMark.objects.exists()
    assert _snapshot() == before


def test_a_late_event_lands_in_its_own_buckets(traffic, fraud_scorer, t0):
    version = fraud_scorer.versions.get(version="1")
    day = ServingRollup.objects.filter(granularity="day", model_version=version)
    before = sum(day.values_list("inferences", flat=True))
    late = factories.event_build(version, event_id="late", timestamp=t0 + timedelta(minutes=1))
    ServingEvent.objects.bulk_create([late])
    RollupMark.objects.create(model_version=version, hour_start=t0.replace(minute=0))
    rollups_refresh()
    assert sum(day.values_list("inferences", flat=True)) == before + 1
    hour = ServingRollup.objects.filter(
        granularity="hour", model_version=version, bucket_start=t0.replace(minute=0)
    )
    assert "late" in ServingEvent.objects.filter(model_version=version).values_list(
        "event_id", flat=True
    )
    assert (
        sum(hour.values_list("inferences", flat=True))
        == ServingEvent.objects.filter(
            model_version=version,
            timestamp__gte=t0.replace(minute=0),
            timestamp__lt=t0.replace(minute=0) + timedelta(hours=1),
        ).count()
    )


def test_the_command_rebuilds_from_scratch(traffic, capsys):
    before = _snapshot()
    ServingRollup.objects.update(inferences=0)
    call_command("rebuild_rollups")
    assert _snapshot() == before
    raw = _raw()
    hours = raw["timestamp"].dt.floor("h")
    version_hours = len(set(zip(raw["model_version_id"], hours, strict=True)))
    assert f"Rolled up {version_hours} version-hour(s)" in capsys.readouterr().out


def test_a_range_rebuild_leaves_other_days_alone(traffic, t0):
    before = _snapshot()
    first_day = ServingRollup.objects.filter(bucket_start__lt=t0 + timedelta(hours=1))
    first_day.update(inferences=0)
    rollups_rebuild(start=t0 + timedelta(days=1, hours=5), end=t0 + timedelta(days=1, hours=6))
    assert _snapshot() != before  # the zeroed first day was outside the range
    rollups_rebuild(start=t0, end=t0 + timedelta(hours=1))
    assert _snapshot() == before


def test_a_rebuild_of_a_range_keeps_the_weeks_reaching_past_it(traffic, t0):
    """Rebuilding one day recomputes the weeks around it from their days; a day that
    lost all its events takes its share out of its week."""
    whole = _snapshot()
    rollups_rebuild(start=t0 + timedelta(days=2), end=t0 + timedelta(days=3))
    assert _snapshot() == whole
    day = (t0 + timedelta(days=2)).replace(hour=0, minute=30)
    gone = ServingEvent.objects.filter(
        timestamp__gte=day.replace(minute=0),
        timestamp__lt=day.replace(minute=0) + timedelta(days=1),
    )
    left = ServingEvent.objects.count() - gone.count()
    gone.delete()
    rollups_rebuild(start=day, end=day + timedelta(hours=1))
    weeks = ServingRollup.objects.filter(granularity="week").values_list("inferences", flat=True)
    assert sum(weeks) == left


def test_the_migration_gives_stored_days_their_weeks(traffic):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("lifecycle.catalog.migrations.0005_rollup_week")
    before = _snapshot()
    for model in (ServingRollup, LatencyRollup):
        model.objects.filter(granularity="week").delete()
    migration.weeks_from_days(apps, None)
    assert _snapshot() == before


def test_the_migration_gives_stored_latency_rollups_their_counts(traffic):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("lifecycle.catalog.migrations.0006_latency_rollup_counts")
    columns = ("granularity", "bucket_start", "model_version_id", "endpoint_id", "inferences")
    counted = ("errors", "errors_timeout", "cost_usd", "histogram")

    def rows() -> list[str]:
        stored = LatencyRollup.objects.values_list(*columns, *counted)
        return sorted(repr((*r[:-1], bytes(r[-1]))) for r in stored)  # memoryview on PG

    before = rows()
    # As stored before counts existed: zeros, and no row where nothing succeeded.
    LatencyRollup.objects.update(inferences=0, errors=0, errors_timeout=0, cost_usd=0)
    failures_only = [r.pk for r in LatencyRollup.objects.all() if len(bytes(r.histogram)) == 7]
    assert failures_only  # the fixture has hours where every event failed
    LatencyRollup.objects.filter(pk__in=failures_only).delete()
    migration.counts_from_serving_rollups(apps, None)
    assert rows() == before


def test_a_rebuild_replaces_the_marks_waiting_in_its_range(traffic, monkeypatch, t0):
    """Marks already waiting for the rebuilt range would recompute those hours a second
    time; marks outside it stay."""
    rollups_mark()  # every hour of the traffic waits once
    monkeypatch.setattr("ingestion.rollups.rollups_refresh", lambda **kwargs: 0)
    monkeypatch.setattr("ingestion.rollups._weeks_recompute", lambda lo, hi: None)
    start = t0 + timedelta(days=1, hours=2)
    rollups_rebuild(start=start, end=start + timedelta(hours=1))
    pairs = list(RollupMark.objects.values_list("model_version_id", "hour_start"))
    assert len(pairs) == len(set(pairs))
    day = start.replace(hour=0)
    outside = [p for p in pairs if not day <= p[1] < day + timedelta(days=1)]
    assert outside  # left for the refresh that follows
