from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from lifecycle.catalog.models import Deployment, ModelVersion, RegisteredModel, Role
from lifecycle.catalog.tokens import api_token_create, api_token_revoke
from tests import factories

pytestmark = pytest.mark.django_db


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


NEW_MODEL = {
    "name": "churn predictor",
    "team": "risk",
    "industry": "payments",
    "serving_mode": "batch",
    "unit_cost_usd": "0.00020000",
    "sla_latency_p95_ms": 200,
}


def test_nothing_is_readable_anonymously(fraud_scorer):
    response = APIClient().get("/api/v1/models/")
    assert response.status_code == 401


def test_an_executive_reads_models_by_name(api_as, alice, fraud_scorer):
    response = api_as(alice).get("/api/v1/models/fraud-scorer/")
    assert response.status_code == 200
    assert response.json()["team"] == "risk"
    assert response.json()["industry"] == "payments"


def test_an_executive_may_not_create_a_model(api_as, alice, fraud_scorer):
    response = api_as(alice).post("/api/v1/models/", NEW_MODEL, format="json")
    assert response.status_code == 403
    assert not RegisteredModel.objects.filter(name="churn predictor").exists()


def test_a_data_team_member_may_not_create_a_model(api_as, dana, fraud_scorer):
    assert api_as(dana).post("/api/v1/models/", NEW_MODEL, format="json").status_code == 403


def test_an_mlops_engineer_creates_a_model_looked_up_by_team_and_industry_name(
    api_as, bob, fraud_scorer
):
    response = api_as(bob).post("/api/v1/models/", NEW_MODEL, format="json")
    assert response.status_code == 201, response.json()
    created = RegisteredModel.objects.get(name="churn predictor")
    assert created.team.name == "risk" and created.industry.name == "payments"
    # Names with blanks are reachable in URLs.
    assert api_as(bob).get("/api/v1/models/churn%20predictor/").status_code == 200


def test_a_model_with_an_unknown_team_is_a_400_naming_the_field(api_as, bob, fraud_scorer):
    response = api_as(bob).post("/api/v1/models/", {**NEW_MODEL, "team": "nope"}, format="json")
    assert response.status_code == 400
    assert "team" in response.json()


def test_a_name_with_a_slash_is_refused(api_as, root, fraud_scorer):
    response = api_as(root).post("/api/v1/industries/", {"name": "a/b"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()


def test_versions_nest_under_their_model(api_as, bob, fraud_scorer, now):
    factories.version_make(fraud_scorer, "1", registered_at=now - timedelta(days=60))
    response = api_as(bob).post(
        "/api/v1/models/fraud-scorer/versions/",
        {"version": "2", "registered_at": _iso(now - timedelta(days=32)), "run_id": "abc"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    listed = api_as(bob).get("/api/v1/models/fraud-scorer/versions/").json()["results"]
    assert [v["version"] for v in listed] == ["1", "2"]
    assert ModelVersion.objects.get(model=fraud_scorer, version="2").run_id == "abc"


def test_a_repeated_version_is_a_400(api_as, bob, fraud_scorer, now):
    factories.version_make(fraud_scorer, "1", registered_at=now - timedelta(days=60))
    response = api_as(bob).post(
        "/api/v1/models/fraud-scorer/versions/",
        {"version": "1", "registered_at": _iso(now - timedelta(days=32))},
        format="json",
    )
    assert response.status_code == 400
    assert "version" in response.json()


def test_versions_of_an_unknown_model_are_a_404(api_as, bob):
    assert api_as(bob).get("/api/v1/models/nope/versions/").status_code == 404


def test_a_deployment_is_made_from_model_and_version_names(api_as, bob, fraud_scorer, now):
    factories.version_make(fraud_scorer, "3", registered_at=now - timedelta(days=60))
    factories.endpoint_make("scoring")
    body = {
        "model": "fraud-scorer",
        "version": "3",
        "endpoint": "scoring",
        "role": "canary",
        "traffic_share": "0.1",
        "started_at": _iso(now - timedelta(days=32)),
    }
    response = api_as(bob).post("/api/v1/deployments/", body, format="json")
    assert response.status_code == 201, response.json()
    deployment = Deployment.objects.get()
    assert deployment.model_version.version == "3" and deployment.role == "canary"


def test_a_deployment_of_an_unknown_version_names_the_version(api_as, bob, fraud_scorer, now):
    factories.endpoint_make("scoring")
    body = {
        "model": "fraud-scorer",
        "version": "9",
        "endpoint": "scoring",
        "role": "production",
        "traffic_share": "1",
        "started_at": _iso(now - timedelta(days=32)),
    }
    response = api_as(bob).post("/api/v1/deployments/", body, format="json")
    assert response.status_code == 400
    assert "version" in response.json()


def test_a_deployment_ending_before_it_starts_is_refused(api_as, bob, fraud_scorer, now):
    factories.version_make(fraud_scorer, "1", registered_at=now - timedelta(days=60))
    factories.endpoint_make("scoring")
    body = {
        "model": "fraud-scorer",
        "version": "1",
        "endpoint": "scoring",
        "role": "production",
        "traffic_share": "1",
        "started_at": _iso(now - timedelta(days=31)),
        "ended_at": _iso(now - timedelta(days=32)),
    }
    response = api_as(bob).post("/api/v1/deployments/", body, format="json")
    assert response.status_code == 400
    assert "ended_at" in response.json()


def test_a_traffic_share_above_one_is_refused(api_as, bob, fraud_scorer, now):
    factories.version_make(fraud_scorer, "1", registered_at=now - timedelta(days=60))
    factories.endpoint_make("scoring")
    body = {
        "model": "fraud-scorer",
        "version": "1",
        "endpoint": "scoring",
        "role": "production",
        "traffic_share": "1.5",
        "started_at": _iso(now - timedelta(days=31)),
    }
    response = api_as(bob).post("/api/v1/deployments/", body, format="json")
    assert response.status_code == 400
    assert "traffic_share" in response.json()


def test_an_mlops_token_writes_and_an_executive_token_only_reads(token_client, risk_team):
    factories.industry_make("payments")
    writer = token_client(risk_team, Role.MLOPS)
    reader = token_client(risk_team, Role.EXECUTIVE)
    # An endpoint of the token's own team: objects of no team are the admins' to change.
    created = writer.post("/api/v1/endpoints/", {"name": "claims", "team": "risk"}, format="json")
    assert created.status_code == 201
    assert reader.get("/api/v1/endpoints/claims/").status_code == 200
    assert reader.delete("/api/v1/endpoints/claims/").status_code == 403


def test_a_revoked_token_is_a_401(risk_team):
    token, key = api_token_create(team=risk_team)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/teams/").status_code == 200
    api_token_revoke(token=token)
    response = client.get("/api/v1/teams/")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_a_malformed_authorization_header_is_a_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token")
    assert client.get("/api/v1/teams/").status_code == 401


def test_models_filter_by_industry_and_serving_mode(api_as, alice, fraud_scorer, recommender):
    client = api_as(alice)
    by_industry = client.get("/api/v1/models/", {"industry": "ecommerce"}).json()["results"]
    assert [m["name"] for m in by_industry] == ["recommender"]
    by_mode = client.get("/api/v1/models/", {"serving_mode": "streaming"}).json()["results"]
    assert [m["name"] for m in by_mode] == ["fraud-scorer"]


def test_models_filter_by_model_name(api_as, alice, fraud_scorer, recommender):
    found = api_as(alice).get("/api/v1/models/", {"model": "recommender"}).json()["results"]
    assert [m["name"] for m in found] == ["recommender"]


def test_an_unknown_industry_filter_is_a_400(api_as, alice, fraud_scorer):
    response = api_as(alice).get("/api/v1/models/", {"industry": "nope"})
    assert response.status_code == 400
    assert "industry" in response.json()


def test_the_openapi_schema_needs_a_login_and_lists_the_catalog(api_as, alice, client):
    assert APIClient().get(reverse("schema")).status_code == 401
    response = api_as(alice).get(reverse("schema"), {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/models/",
        "/api/v1/models/{model_name}/versions/",
        "/api/v1/deployments/",
        "/api/v1/kpis/portfolio/",
    ):
        assert path in paths
