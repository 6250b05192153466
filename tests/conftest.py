"""Shared test setup: tasks run eagerly (one switch, here), and a small named cast."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from rest_framework.test import APIClient

from kpiboard.celery import app as celery_app
from lifecycle.catalog.models import Role
from lifecycle.catalog.tokens import api_token_create
from tests import factories

# Tests see task exceptions at the call site. The services suite switches this off in the
# few tests that send work to a real worker.
celery_app.conf.task_always_eager = True
celery_app.conf.task_eager_propagates = True

# The suite's clock: every test date derives from `now`. KPIBOARD_TEST_CLOCK_SHIFT_DAYS moves
# the whole session's clock (e.g. 365, a year ahead) to prove no test depends on the date.
CLOCK_SHIFT_VARIABLE = "KPIBOARD_TEST_CLOCK_SHIFT_DAYS"
# Tests whose other side keeps the real clock, which no shift in this process can move:
# PostgreSQL's now() and a Celery worker (services), a real `mlflow server` (mlflow).
_UNSHIFTABLE_MARKS = ("services", "mlflow")
# The `calendar` marker, kept here as one list: the files about windows, dates, ledgers,
# milestones, rollups and retention. CI runs them again with the clock a year ahead
# (.ci/test-suites), a few minutes where the whole suite would take many.
CALENDAR_SUITE = (
    "ingestion/registry/test_registry_events_api.py",
    "ingestion/registry/test_registry_input_limits.py",
    "ingestion/registry/test_registry_webhooks.py",
    "ingestion/test_ids_per_team.py",
    "ingestion/test_kserve.py",
    "ingestion/test_push_input_limits.py",
    "ingestion/test_retention.py",
    "ingestion/test_rollups.py",
    "ingestion/test_rollups_poison_mark.py",
    "kpiboard/test_portfolio.py",
    "lifecycle/catalog/test_api.py",
    "lifecycle/catalog/test_filtersets.py",
    "lifecycle/catalog/test_time_range.py",
    "lifecycle/catalog/test_tokens.py",
    "lifecycle/deployment/test_api_and_pages.py",
    "lifecycle/deployment/test_change_failure_rate_recomputed.py",
    "lifecycle/deployment/test_filtersets.py",
    "lifecycle/deployment/test_kpis.py",
    "lifecycle/deployment/test_timeline_and_registry_pages.py",
    "lifecycle/development/test_training_runs.py",
    "lifecycle/monitoring/test_kpis.py",
    "lifecycle/monitoring/test_model_health.py",
    "lifecycle/value/test_value_api.py",
    "lifecycle/value/test_value_page.py",
)
_TESTS = Path(__file__).parent
if missing := [name for name in CALENDAR_SUITE if not (_TESTS / name).is_file()]:
    # A renamed file would otherwise leave the calendar suite quietly.
    raise pytest.UsageError(f"CALENDAR_SUITE in {__file__} names missing files: {missing}")


def _clock_shift() -> timedelta:
    raw = os.environ.get(CLOCK_SHIFT_VARIABLE, "").strip() or "0"
    try:
        return timedelta(days=int(raw))
    except ValueError:
        raise pytest.UsageError(
            f"{CLOCK_SHIFT_VARIABLE}={raw!r}: expected a whole number of days, e.g. 365"
        ) from None


_CLOCK_SHIFT = _clock_shift()
_shifted_travel: time_machine.travel | None = None


def pytest_configure(config: pytest.Config) -> None:
    # Started here, not in a session fixture, so that code run while tests are collected
    # (module constants, parametrize arguments) sees the shifted clock too.
    global _shifted_travel
    if _CLOCK_SHIFT and _shifted_travel is None:
        _shifted_travel = time_machine.travel(datetime.now().astimezone() + _CLOCK_SHIFT, tick=True)
        _shifted_travel.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    global _shifted_travel
    if _shifted_travel is not None:
        _shifted_travel.stop()
        _shifted_travel = None


def pytest_report_header(config: pytest.Config) -> str | None:
    if not _CLOCK_SHIFT:
        return None
    return f"clock shifted {_CLOCK_SHIFT.days} days ({CLOCK_SHIFT_VARIABLE}): {datetime.now(UTC)}"


# First, so that `-m calendar` deselects by the marker given here.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    calendar = {_TESTS / name for name in CALENDAR_SUITE}
    for item in items:
        if item.path in calendar:
            item.add_marker(pytest.mark.calendar)
    if not _CLOCK_SHIFT:
        return
    for item in items:
        marks = [m for m in _UNSHIFTABLE_MARKS if item.get_closest_marker(m)]
        if marks:
            item.add_marker(
                pytest.mark.skip(
                    reason=f"{CLOCK_SHIFT_VARIABLE} is set and a `{marks[0]}` test meets "
                    "a clock outside this process, which cannot be shifted"
                )
            )


@pytest.fixture
def now(time_machine) -> datetime:
    """The moment a test happens: half past the current hour (UTC), with the clock moved
    there and ticking on, so a test never straddles an hour.

    The suite's one convention: every date a test stores, sends or compares derives from
    this value (``now - timedelta(days=3)``, the Monday of its week, ...), never a calendar
    literal, and factories get those times explicitly where a test compares times. A fixed
    date may stay only where it never meets the clock, as in a pure parser test.
    ``KPIBOARD_TEST_CLOCK_SHIFT_DAYS=365`` runs a session a year ahead to prove it."""
    current = datetime.now().astimezone(UTC)
    moment = current.replace(minute=30, second=0, microsecond=0)
    time_machine.move_to(moment, tick=True)
    return moment


@pytest.fixture
def alice(db):
    """Alice is an executive."""
    return factories.user_make("alice", Role.EXECUTIVE)


@pytest.fixture
def bob(db):
    """Bob is an MLOps engineer."""
    return factories.user_make("bob", Role.MLOPS)


@pytest.fixture
def dana(db):
    """Dana is on a data team."""
    return factories.user_make("dana", Role.DATA_TEAM)


@pytest.fixture
def root(db):
    """Root is an admin."""
    return factories.user_make("root", Role.ADMIN)


@pytest.fixture
def risk_team(db):
    return factories.team_make("risk", "Finance")


@pytest.fixture
def growth_team(db):
    return factories.team_make("growth", "Marketing")


@pytest.fixture
def fraud_scorer(db, risk_team):
    return factories.model_make(
        "fraud-scorer",
        team=risk_team,
        industry=factories.industry_make("payments"),
        sla_latency_p95_ms=50.0,
        sla_error_rate=0.01,
    )


@pytest.fixture
def recommender(db, growth_team):
    return factories.model_make(
        "recommender",
        team=growth_team,
        industry=factories.industry_make("ecommerce"),
        serving_mode="batch",
    )


def _client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def api_as():
    """api_as(user) -> an APIClient logged in as that user."""
    return _client_for


@pytest.fixture
def token_client(db):
    """token_client(team, role) -> an APIClient that sends a real API token."""

    def make(team, role: Role = Role.MLOPS) -> APIClient:
        _, key = api_token_create(team=team, role=role)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return make
