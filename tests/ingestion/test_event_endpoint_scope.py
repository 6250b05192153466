"""Traffic is reported only on endpoints the pushing team may serve on: a shared endpoint
(of no team) or its own. The scoring endpoint is the risk team's; the recommender growth's."""

from datetime import timedelta

import pytest

from lifecycle.catalog.models import ServingEvent
from tests import factories

pytestmark = pytest.mark.django_db


def _event(now, **overrides) -> dict:
    row = {
        "event_id": "e-1",
        "timestamp": (now - timedelta(minutes=10)).isoformat(),
        "model": "recommender",
        "version": "1",
        "latency_ms": 12.0,
        "status": "ok",
    }
    return {**row, **overrides}


@pytest.fixture
def reco_v1(recommender):
    return factories.version_make(recommender, "1")


def test_a_token_may_not_report_traffic_on_another_teams_endpoint(
    reco_v1, scoring, growth_team, token_client, now
):
    response = token_client(growth_team).post(
        "/api/v1/events/", [_event(now, endpoint="scoring")], format="json"
    )
    assert response.status_code == 403, response.json()
    assert response.json()["errors"][0]["field"] == "endpoint"
    assert "'risk'" in response.json()["errors"][0]["reason"]
    assert not ServingEvent.objects.exists()


def test_a_token_reports_traffic_on_a_shared_endpoint(reco_v1, growth_team, token_client, now):
    factories.endpoint_make("shared-gateway")
    response = token_client(growth_team).post(
        "/api/v1/events/", [_event(now, endpoint="shared-gateway")], format="json"
    )
    assert response.status_code == 202, response.json()
    assert ServingEvent.objects.get().endpoint.name == "shared-gateway"


def test_an_admin_reports_traffic_on_any_endpoint(reco_v1, scoring, api_as, root, now):
    response = api_as(root).post(
        "/api/v1/events/", [_event(now, endpoint="scoring")], format="json"
    )
    assert response.status_code == 202, response.json()


def test_kserve_traffic_is_not_put_on_another_teams_endpoint_of_the_same_name(
    reco_v1, risk_team, growth_team, api_as, root, now
):
    from tests.ingestion.test_kserve import _message, _post

    factories.endpoint_make("recommender", team=risk_team)
    client = api_as(root)
    at = now - timedelta(minutes=5)
    _post(client, _message("request", "c-1", {"instances": [[1.0]]}, at=at, service="recommender"))
    _post(client, _message("response", "c-1", {"predictions": [1]}, at=at, service="recommender"))
    assert ServingEvent.objects.get().endpoint is None
