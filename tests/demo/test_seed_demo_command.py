"""The demo seeder's command: that it is deterministic, and how it guards an existing
catalog. Each test seeds (or refuses to) on its own, so none shares a demo."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from demo.seed import demo_portfolio_seed
from demo.users import DEMO_PASSWORD
from lifecycle.catalog.models import (
    Label,
    LifecycleMetric,
    RegisteredModel,
    ServingEvent,
)
from lifecycle.dataprep.models import DatasetProfile
from lifecycle.deployment.models import LifecycleChange, Registry
from lifecycle.monitoring.models import Incident

pytestmark = pytest.mark.django_db

# The seed is built around the moment it is given (--now), and every assertion here
# compares with that moment, never with the clock (only ingestion's received_at reads it):
# a fixed moment far from the clock shows that nothing checked comes from the clock.
NOW = datetime(2025, 6, 4, 12, 0, tzinfo=UTC)  # a Wednesday
SMALL = {"days": 3, "volume": 0.2}
# The suite also runs on PostgreSQL (DATABASE_URL set), where the command wants the flag.
SMALL_ARGS = ["--now", NOW.isoformat(), "--days", "3", "--volume", "0.2", "--allow-production"]


def _events(**filters):
    return ServingEvent.objects.filter(**filters)


def test_the_same_seed_and_now_give_the_same_rows():
    def snapshot():
        return {
            "events": set(_events().values_list("event_id", "latency_ms", "timestamp", "caller")),
            "labels": set(Label.objects.values_list("event_id", "label", "timestamp")),
            "ledger": set(
                LifecycleChange.objects.values_list(
                    "kind", "model__name", "model_version__version", "happened_after",
                    "happened_before", "external_id",
                )
            ),
            "metrics": set(LifecycleMetric.objects.values_list("metric_id", "value")),
            "profiles": set(
                DatasetProfile.objects.values_list(
                    "version__dataset__name", "version__version", "rows", "completeness_pct"
                )
            ),
        }  # fmt: skip

    demo_portfolio_seed(now=NOW, **SMALL)
    first = snapshot()
    demo_portfolio_seed(now=NOW, reset=True, **SMALL)
    assert snapshot() == first
    demo_portfolio_seed(now=NOW, seed=8, reset=True, **SMALL)
    again = snapshot()
    assert not again["events"] & first["events"]
    assert again["ledger"] != first["ledger"]


def test_it_refuses_to_seed_over_existing_models_without_reset(fraud_scorer):
    with pytest.raises(CommandError, match="--reset"):
        call_command("seed_demo", *SMALL_ARGS, stdout=StringIO(), stderr=StringIO())
    assert RegisteredModel.objects.count() == 1


def test_reset_reruns_cleanly_and_keeps_rows_the_demo_did_not_make(fraud_scorer):
    out = StringIO()
    call_command("seed_demo", "--reset", *SMALL_ARGS, stdout=out, stderr=StringIO())
    counts = (RegisteredModel.objects.count(), _events().count(), Incident.objects.count())
    call_command("seed_demo", "--reset", *SMALL_ARGS, stdout=StringIO(), stderr=StringIO())
    assert (RegisteredModel.objects.count(), _events().count(), Incident.objects.count()) == (
        counts
    )
    assert RegisteredModel.objects.filter(name="fraud-scorer").exists()
    assert User.objects.filter(username="admin").count() == 1
    assert "incidents: dependency 1" in out.getvalue()
    for part in ("ledger:", "training runs:", "profiled from uploaded files", "labels:"):
        assert part in out.getvalue()
    assert not Registry.objects.exclude(name__in=["mlflow-credit", "mlflow-support"]).exists()
    assert f"password {DEMO_PASSWORD}" in out.getvalue()


def test_it_will_not_take_over_a_real_user_with_a_demo_name():
    User.objects.create_user("admin", email="ops@example.com", password="secret")
    with pytest.raises(CommandError, match="not a demo user"):
        call_command("seed_demo", *SMALL_ARGS, stdout=StringIO(), stderr=StringIO())
    assert User.objects.get(username="admin").check_password("secret")
    assert not RegisteredModel.objects.exists()


def test_it_rejects_a_now_that_is_not_iso_8601():
    with pytest.raises(CommandError, match="ISO 8601"):
        call_command("seed_demo", "--now", "yesterday", stdout=StringIO(), stderr=StringIO())


def test_it_refuses_a_production_database_without_the_explicit_flag(settings):
    settings.EMBEDDED = False
    with pytest.raises(CommandError, match="--allow-production"):
        call_command("seed_demo", "--days", "1")
