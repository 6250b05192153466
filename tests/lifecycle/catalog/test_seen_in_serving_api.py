"""The catalog API flags versions and endpoints seen in serving but not in the registry,
read-only: only a registry's word clears the flag."""

from datetime import timedelta

import pytest

from lifecycle.catalog.models import Endpoint, ModelVersion
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def seen(fraud_scorer, risk_team, now):
    """fraud-scorer v1 from the registry; v2 and endpoint scoring-eu seen in serving."""
    factories.version_make(fraud_scorer, "1")
    first_seen = now - timedelta(hours=3)
    ModelVersion.objects.create(
        model=fraud_scorer, version="2", registered_at=first_seen, seen_in_serving_at=first_seen
    )
    factories.endpoint_make("scoring")
    Endpoint.objects.create(name="scoring-eu", team=risk_team, seen_in_serving_at=first_seen)
    return first_seen


def test_versions_say_whether_they_were_seen_only_in_serving(seen, api_as, alice):
    listed = api_as(alice).get("/api/v1/models/fraud-scorer/versions/").json()["results"]
    flags = {v["version"]: (v["seen_in_serving_only"], v["seen_in_serving_at"]) for v in listed}
    assert flags["1"] == (False, None)
    assert flags["2"][0] is True
    assert flags["2"][1] == seen.isoformat().replace("+00:00", "Z")


def test_endpoints_say_whether_they_were_seen_only_in_serving(seen, api_as, alice):
    listed = api_as(alice).get("/api/v1/endpoints/").json()["results"]
    assert {e["name"]: e["seen_in_serving_only"] for e in listed} == {
        "scoring": False,
        "scoring-eu": True,
    }


def test_the_flag_cannot_be_written_through_the_api(seen, api_as, bob):
    response = api_as(bob).patch(
        "/api/v1/models/fraud-scorer/versions/2/",
        {"seen_in_serving_only": False, "seen_in_serving_at": None, "description": "hotfix"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    version = ModelVersion.objects.get(version="2")
    assert version.description == "hotfix" and version.seen_in_serving_at == seen


def test_the_schema_describes_the_flag(api_as, alice):
    schema = api_as(alice).get("/api/schema/", {"format": "json"}).json()
    for name in ("ModelVersion", "Endpoint"):
        field = schema["components"]["schemas"][name]["properties"]["seen_in_serving_only"]
        assert field["readOnly"] is True and "not in the registry" in field["description"]
