"""Registry events follow the one write rule: a team's token deploys its own models, and
only on its own team's endpoints or shared ones."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lifecycle.catalog.models import Deployment, Role
from lifecycle.deployment.models import LifecycleChange
from tests import factories

pytestmark = pytest.mark.django_db
URL = "/api/v1/registry-events/"


def _deployed(now, endpoint: str) -> dict:
    return {
        "event_id": "evt-deploy",
        "event": "deployed",
        "timestamp": (now - timedelta(hours=1)).isoformat(),
        "model": "recommender",
        "version": "1",
        "endpoint": endpoint,
    }


@pytest.fixture
def growth_pipeline(token_client, growth_team, recommender):
    factories.version_make(recommender, "1")
    return token_client(growth_team, Role.MLOPS)


def test_it_refuses_a_token_putting_its_model_on_another_teams_endpoint(
    growth_pipeline, risk_team, now
):
    factories.endpoint_make("scoring", team=risk_team)
    response = growth_pipeline.post(URL, _deployed(now, "scoring"), format="json")
    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "endpoint"
    assert not Deployment.objects.exists() and not LifecycleChange.objects.exists()


def test_a_token_deploys_its_model_on_its_own_or_a_shared_endpoint(
    growth_pipeline, growth_team, now
):
    factories.endpoint_make("shared", team=None)
    factories.endpoint_make("feeds", team=growth_team)
    assert growth_pipeline.post(URL, _deployed(now, "shared"), format="json").status_code == 200
    second = {**_deployed(now, "feeds"), "event_id": "evt-2"}
    assert growth_pipeline.post(URL, second, format="json").status_code == 200
    assert Deployment.objects.count() == 2
