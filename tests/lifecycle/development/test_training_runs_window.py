"""An asked-for window narrows the training runs the development tab and the API show."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lifecycle.development.models import TrainingRun
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def runs(fraud_scorer, now):
    v1 = factories.version_make(fraud_scorer, "1", registered_at=now - timedelta(days=60))
    v2 = factories.version_make(fraud_scorer, "2", registered_at=now - timedelta(days=10))
    TrainingRun.objects.create(model_version=v1, run_id="r-old", started_at=now - timedelta(40))
    TrainingRun.objects.create(model_version=v2, run_id="r-new", started_at=now - timedelta(2))


def test_the_development_tab_shows_only_the_runs_started_in_the_window(client, bob, runs):
    client.force_login(bob)
    html = client.get("/development/models/fraud-scorer/?window=7d").content.decode()
    assert 'data-run="r-new"' in html
    assert 'data-run="r-old"' not in html


def test_the_development_tab_shows_runs_of_any_age_without_a_window(client, bob, runs):
    client.force_login(bob)
    html = client.get("/development/models/fraud-scorer/").content.decode()
    assert 'data-run="r-new"' in html and 'data-run="r-old"' in html


def test_the_api_lists_only_the_runs_started_in_the_window(api_as, bob, runs):
    body = api_as(bob).get("/api/v1/training-runs/?window=30d").json()
    assert [r["run_id"] for r in body["runs"]] == ["r-new"]
    assert len(api_as(bob).get("/api/v1/training-runs/").json()["runs"]) == 2
