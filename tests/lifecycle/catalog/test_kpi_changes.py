"""A tile's change against the previous period: relative for amounts, points for shares,
coloured by the KPI's direction, and honest where one side has no value."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.template.loader import render_to_string

from lifecycle.catalog.kpis import KPI_DEFINITIONS, Direction, KpiValue, period_words
from lifecycle.catalog.kpis.changes import DOWN, SAME, UP, Verdict, kpi_change
from lifecycle.catalog.windows import TimeRange
from lifecycle.deployment.kpis import DEPLOYMENTS
from lifecycle.monitoring.kpis import COST_USD, ERROR_RATE, INFERENCES, UPTIME


@pytest.fixture
def week_before(now):
    return TimeRange(now - timedelta(days=14), now - timedelta(days=7), "")


def _change(definition, value, previous, period):
    before = KpiValue(definition, previous, period=period)
    return kpi_change(KpiValue(definition, value, previous=before))


def test_a_count_changes_by_its_relative_change(week_before):
    change = _change(INFERENCES, 1_230, 1_000, week_before)
    assert change.arrow == UP
    assert change.text == f"{(1_230 - 1_000) / 1_000:.2%} vs the 7 days before"
    # More inferences is neither good nor bad: grey, and said so in words.
    assert change.verdict is Verdict.NEUTRAL
    assert change.verdict_words == "neither better nor worse"


def test_a_share_changes_by_points_not_by_its_relative_change(week_before):
    change = _change(ERROR_RATE, 0.015, 0.010, week_before)
    assert change.text == f"{(0.015 - 0.010) * 100:.2f} pts vs the 7 days before"
    assert change.arrow == UP and change.verdict is Verdict.WORSE


@pytest.mark.parametrize(
    ("definition", "value", "previous", "verdict"),
    [
        (UPTIME, 0.999, 0.99, Verdict.BETTER),  # higher is better, and it rose
        (UPTIME, 0.98, 0.99, Verdict.WORSE),
        (COST_USD, 80.0, 100.0, Verdict.BETTER),  # lower is better, and it fell
        (COST_USD, 120.0, 100.0, Verdict.WORSE),
        (INFERENCES, 80, 100, Verdict.NEUTRAL),
        (DEPLOYMENTS, 12, 10, Verdict.BETTER),
    ],
)
def test_the_verdict_follows_the_kpis_direction(definition, value, previous, verdict, week_before):
    change = _change(definition, value, previous, week_before)
    assert change.verdict is verdict
    assert change.arrow == (UP if value > previous else DOWN)
    html = render_to_string(
        "_tiles.html",
        {"kpis": [KpiValue(definition, value, previous=KpiValue(definition, previous))]},
    )
    assert f"tile-change change-{verdict}" in html
    assert f"({change.verdict_words};" in html  # not told by colour alone


def test_every_definition_says_which_way_is_good_and_whether_it_compares():
    assert all(isinstance(d.direction, Direction) for d in KPI_DEFINITIONS.values())
    states = {d.id for d in KPI_DEFINITIONS.values() if not d.compares}
    assert "dataset_upload_age_days" in states and "training_runs" in states
    assert not states & {"inferences", "error_rate", "models_in_production", "unique_callers"}


def test_a_change_that_reads_zero_is_unchanged(week_before):
    change = _change(ERROR_RATE, 0.01000001, 0.01, week_before)
    assert (change.arrow, change.verdict) == (SAME, Verdict.UNCHANGED)
    assert change.text == "unchanged vs the 7 days before"


def test_a_count_from_zero_is_new_and_a_missing_previous_is_n_a(week_before):
    new = _change(COST_USD, 12.5, 0, week_before)
    assert new.arrow == UP and new.verdict is Verdict.WORSE
    assert new.text == "new: $0.00 the 7 days before"
    missing = _change(ERROR_RATE, 0.01, None, week_before)
    assert (missing.text, missing.verdict, missing.arrow) == ("n/a before", Verdict.UNKNOWN, "")
    gone = _change(ERROR_RATE, None, 0.01, week_before)
    assert gone.text == "was 1.00% the 7 days before" and gone.verdict is Verdict.UNKNOWN


def test_the_tooltip_says_the_exact_previous_value_and_period(week_before):
    change = _change(COST_USD, 120.0, 99.5, week_before)
    start, end = week_before.start, week_before.end
    assert change.title == (
        f"The 7 days before ({start:%Y-%m-%d %H:%M} UTC to {end:%Y-%m-%d %H:%M} UTC): $99.50"
    )


def test_no_previous_value_no_change():
    assert kpi_change(KpiValue(INFERENCES, 10)) is None


@pytest.mark.parametrize(
    ("duration", "words"),
    [
        (timedelta(days=7, minutes=30), "7 days"),
        (timedelta(days=30, hours=14), "30 days"),
        (timedelta(hours=24, minutes=30), "24 hours"),
        (timedelta(hours=1, seconds=42), "hour"),
        (timedelta(minutes=45), "45 minutes"),
    ],
)
def test_a_named_window_is_called_by_its_length(duration, words):
    assert period_words(duration) == words
