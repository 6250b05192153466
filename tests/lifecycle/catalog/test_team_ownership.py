"""The one write rule through the catalog API: a token of one team cannot create, change,
move or delete another team's objects, nor put its model on another team's endpoint."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lifecycle.catalog.models import (
    Deployment,
    Endpoint,
    Industry,
    ModelVersion,
    RegisteredModel,
    Role,
    Team,
)
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def growth_mlops(token_client, growth_team):
    """An MLOps token of the growth team, which does not own fraud-scorer."""
    return token_client(growth_team, Role.MLOPS)


@pytest.fixture
def risk_mlops(token_client, risk_team):
    return token_client(risk_team, Role.MLOPS)


def _new_model(team: str) -> dict:
    return {"name": "churn", "team": team, "industry": "payments", "serving_mode": "batch"}


def _deployment(now, *, model="recommender", version="1", endpoint="scoring") -> dict:
    return {
        "model": model,
        "version": version,
        "endpoint": endpoint,
        "role": "production",
        "traffic_share": "1",
        "started_at": (now - timedelta(days=1)).isoformat(),
    }


def test_it_refuses_a_token_moving_another_teams_model_to_its_own_team(growth_mlops, fraud_scorer):
    response = growth_mlops.patch("/api/v1/models/fraud-scorer/", {"team": "growth"}, format="json")
    assert response.status_code == 403
    assert response.json()["field"] == "team" and "'risk'" in response.json()["detail"]
    fraud_scorer.refresh_from_db()
    assert fraud_scorer.team.name == "risk"


def test_it_refuses_a_token_changing_another_teams_model(growth_mlops, fraud_scorer):
    response = growth_mlops.patch(
        "/api/v1/models/fraud-scorer/", {"description": "mine"}, format="json"
    )
    assert response.status_code == 403
    assert RegisteredModel.objects.get(name="fraud-scorer").description == ""


def test_it_refuses_a_token_giving_its_model_away_to_another_team(
    risk_mlops, fraud_scorer, growth_team
):
    response = risk_mlops.patch("/api/v1/models/fraud-scorer/", {"team": "growth"}, format="json")
    assert response.status_code == 403 and "'growth'" in response.json()["detail"]
    assert RegisteredModel.objects.get(name="fraud-scorer").team.name == "risk"


def test_it_refuses_a_token_deleting_another_teams_model(growth_mlops, fraud_scorer):
    assert growth_mlops.delete("/api/v1/models/fraud-scorer/").status_code == 403
    assert RegisteredModel.objects.filter(name="fraud-scorer").exists()


def test_it_refuses_a_token_creating_a_model_for_another_team(growth_mlops, fraud_scorer):
    response = growth_mlops.post("/api/v1/models/", _new_model("risk"), format="json")
    assert response.status_code == 403 and response.json()["field"] == "team"
    assert not RegisteredModel.objects.filter(name="churn").exists()


def test_a_token_creates_changes_and_deletes_its_own_teams_model(growth_mlops, fraud_scorer):
    assert growth_mlops.post(
        "/api/v1/models/", _new_model("growth"), format="json"
    ).status_code == (201)
    patched = growth_mlops.patch("/api/v1/models/churn/", {"description": "ok"}, format="json")
    assert patched.status_code == 200
    assert growth_mlops.delete("/api/v1/models/churn/").status_code == 204


def test_it_refuses_a_token_adding_a_version_to_another_teams_model(
    growth_mlops, fraud_scorer, now
):
    response = growth_mlops.post(
        "/api/v1/models/fraud-scorer/versions/",
        {"version": "9", "registered_at": now.isoformat()},
        format="json",
    )
    assert response.status_code == 403 and response.json()["field"] == "model"
    assert not ModelVersion.objects.filter(version="9").exists()


def test_it_refuses_a_token_putting_its_model_on_another_teams_endpoint(
    growth_mlops, recommender, risk_team, now
):
    factories.version_make(recommender, "1")
    factories.endpoint_make("scoring", team=risk_team)
    response = growth_mlops.post("/api/v1/deployments/", _deployment(now), format="json")
    assert response.status_code == 403 and response.json()["field"] == "endpoint"
    assert not Deployment.objects.exists()


def test_a_token_puts_its_model_on_a_shared_endpoint(growth_mlops, recommender, now):
    factories.version_make(recommender, "1")
    factories.endpoint_make("scoring", team=None)
    response = growth_mlops.post("/api/v1/deployments/", _deployment(now), format="json")
    assert response.status_code == 201, response.json()


def test_it_refuses_a_token_moving_another_teams_deployment_to_its_model(
    growth_mlops, fraud_scorer, recommender, now
):
    deployment = factories.deployment_make(factories.version_make(fraud_scorer, "1"))
    factories.version_make(recommender, "1")
    response = growth_mlops.patch(
        f"/api/v1/deployments/{deployment.pk}/",
        {"model": "recommender", "version": "1"},
        format="json",
    )
    assert response.status_code == 403
    deployment.refresh_from_db()
    assert deployment.model_version.model == fraud_scorer


def test_it_refuses_a_token_taking_another_teams_endpoint(growth_mlops, risk_team):
    factories.endpoint_make("scoring", team=risk_team)
    response = growth_mlops.patch("/api/v1/endpoints/scoring/", {"team": "growth"}, format="json")
    assert response.status_code == 403
    assert Endpoint.objects.get(name="scoring").team == risk_team


def test_it_refuses_a_token_changing_another_team_or_making_one(growth_mlops, risk_team):
    renamed = growth_mlops.patch("/api/v1/teams/risk/", {"business_unit": "Mine"}, format="json")
    made = growth_mlops.post("/api/v1/teams/", {"name": "new", "business_unit": "X"}, format="json")
    assert renamed.status_code == 403 and made.status_code == 403
    assert Team.objects.get(name="risk").business_unit == "Finance"
    assert not Team.objects.filter(name="new").exists()


def test_objects_of_no_team_are_changed_through_a_token_by_admins_only(
    token_client, growth_team, growth_mlops
):
    factories.industry_make("payments")
    refused = growth_mlops.patch(
        "/api/v1/industries/payments/", {"description": "x"}, format="json"
    )
    assert refused.status_code == 403
    admin = token_client(growth_team, Role.ADMIN)
    assert (
        admin.patch("/api/v1/industries/payments/", {"description": "x"}, format="json").status_code
        == 200
    )
    assert Industry.objects.get(name="payments").description == "x"


def test_an_admin_token_moves_a_model_of_any_team(token_client, growth_team, fraud_scorer):
    admin = token_client(growth_team, Role.ADMIN)
    response = admin.patch("/api/v1/models/fraud-scorer/", {"team": "growth"}, format="json")
    assert response.status_code == 200
    assert RegisteredModel.objects.get(name="fraud-scorer").team.name == "growth"


def test_a_logged_in_mlops_engineer_acts_for_every_team(api_as, bob, fraud_scorer, growth_team):
    response = api_as(bob).patch("/api/v1/models/fraud-scorer/", {"team": "growth"}, format="json")
    assert response.status_code == 200
