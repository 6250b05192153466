"""Training runs follow the one write rule: a team's token records runs of its own team's
models only."""

from __future__ import annotations

import pytest

from lifecycle.catalog.models import Role
from lifecycle.development.models import TrainingRun
from tests import factories

pytestmark = pytest.mark.django_db
URL = "/api/v1/training-runs/"
RUN = {"model": "fraud-scorer", "version": "1", "run_id": "r1", "features_total": 10}


@pytest.fixture
def version(fraud_scorer):
    return factories.version_make(fraud_scorer, "1")


def test_it_refuses_a_token_recording_a_run_of_another_teams_model(
    token_client, growth_team, version
):
    response = token_client(growth_team, Role.MLOPS).post(URL, RUN, format="json")
    assert response.status_code == 403 and response.json()["field"] == "model"
    assert not TrainingRun.objects.exists()


def test_a_token_records_runs_of_its_own_teams_models(token_client, risk_team, version):
    assert token_client(risk_team, Role.DATA_TEAM).post(URL, RUN, format="json").status_code == 201
    assert TrainingRun.objects.get().model_version == version
