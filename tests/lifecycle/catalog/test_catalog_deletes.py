"""A DELETE through the catalog API never takes other data with it: what is still referred
to answers 409 naming what refers to it, and nothing is deleted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lifecycle.catalog.models import (
    Endpoint,
    Industry,
    ModelVersion,
    RegisteredModel,
    ServingEvent,
    ServingRollup,
    Team,
)
from lifecycle.catalog.tokens import api_token_create
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(api_as, bob):
    return api_as(bob)


def _served(model, now, *, endpoint=None) -> ModelVersion:
    version = factories.version_make(model, "1", registered_at=now - timedelta(days=3))
    ServingEvent.objects.bulk_create(
        [factories.event_build(version, timestamp=now - timedelta(hours=1), endpoint=endpoint)]
    )
    return version


def test_it_refuses_to_delete_a_model_that_served_and_says_to_archive_it(client, fraud_scorer, now):
    _served(fraud_scorer, now)
    response = client.delete("/api/v1/models/fraud-scorer/")
    assert response.status_code == 409
    body = response.json()
    assert "serving events" in body["referenced_by"] and "archived_at" in body["detail"]
    assert RegisteredModel.objects.filter(name="fraud-scorer").exists()
    assert ServingEvent.objects.count() == 1


def test_it_refuses_to_delete_a_model_whose_history_is_only_in_rollups(client, fraud_scorer, now):
    version = factories.version_make(fraud_scorer, "1")
    ServingRollup.objects.create(
        granularity="hour",
        bucket_start=(now - timedelta(days=200)).replace(minute=0),
        model=fraud_scorer,
        model_version=version,
        inferences=5,
        latency_count=5,
        latency_sum_ms=50.0,
        prediction_count=0,
        prediction_sum=0.0,
        prediction_sum_squares=0.0,
    )
    response = client.delete("/api/v1/models/fraud-scorer/")
    assert response.status_code == 409 and "serving rollups" in response.json()["referenced_by"]
    assert ServingRollup.objects.count() == 1


def test_a_model_that_served_is_archived_instead(client, fraud_scorer, now):
    _served(fraud_scorer, now)
    response = client.patch(
        "/api/v1/models/fraud-scorer/", {"archived_at": now.isoformat()}, format="json"
    )
    assert response.status_code == 200 and response.json()["archived_at"] is not None
    assert ServingEvent.objects.count() == 1


def test_a_model_with_nothing_recorded_is_deleted_with_its_bare_versions(client, fraud_scorer):
    factories.version_make(fraud_scorer, "1")
    assert client.delete("/api/v1/models/fraud-scorer/").status_code == 204
    assert not ModelVersion.objects.exists()


def test_it_refuses_to_delete_a_version_that_served(client, fraud_scorer, now):
    _served(fraud_scorer, now)
    response = client.delete("/api/v1/models/fraud-scorer/versions/1/")
    assert response.status_code == 409 and "serving events" in response.json()["referenced_by"]
    assert ModelVersion.objects.count() == 1


def test_it_refuses_to_delete_a_deployed_version(client, fraud_scorer):
    factories.deployment_make(factories.version_make(fraud_scorer, "1"))
    response = client.delete("/api/v1/models/fraud-scorer/versions/1/")
    assert response.status_code == 409 and "deployments" in response.json()["referenced_by"]


def test_it_refuses_to_delete_an_industry_still_used_by_a_model(client, fraud_scorer):
    response = client.delete("/api/v1/industries/payments/")
    assert response.status_code == 409
    assert response.json()["referenced_by"] == {"models": ["fraud-scorer"]}
    assert Industry.objects.filter(name="payments").exists()


def test_an_unused_industry_is_deleted(client, db):
    factories.industry_make("insurance")
    assert client.delete("/api/v1/industries/insurance/").status_code == 204


def test_it_refuses_to_delete_a_team_that_owns_a_model(client, fraud_scorer):
    response = client.delete("/api/v1/teams/risk/")
    assert response.status_code == 409 and "models" in response.json()["referenced_by"]
    assert Team.objects.filter(name="risk").exists()


def test_it_refuses_to_delete_a_team_and_its_api_tokens_with_it(client, risk_team):
    api_token_create(team=risk_team)
    response = client.delete("/api/v1/teams/risk/")
    assert response.status_code == 409 and "API tokens" in response.json()["referenced_by"]
    assert risk_team.api_tokens.count() == 1


def test_it_refuses_to_delete_an_endpoint_with_deployments(client, fraud_scorer):
    factories.deployment_make(factories.version_make(fraud_scorer, "1"))
    response = client.delete("/api/v1/endpoints/scoring/")
    assert response.status_code == 409 and "deployments" in response.json()["referenced_by"]
    assert Endpoint.objects.filter(name="scoring").exists()


def test_it_refuses_to_delete_an_endpoint_that_served_and_keeps_the_events_on_it(
    client, fraud_scorer, now
):
    endpoint = factories.endpoint_make("scoring")
    _served(fraud_scorer, now, endpoint=endpoint)
    response = client.delete("/api/v1/endpoints/scoring/")
    assert response.status_code == 409 and "serving events" in response.json()["referenced_by"]
    assert ServingEvent.objects.get().endpoint == endpoint


def test_an_unused_endpoint_is_deleted(client, db):
    factories.endpoint_make("spare")
    assert client.delete("/api/v1/endpoints/spare/").status_code == 204
