"""The pages that list versions and endpoints badge those seen in serving but not in the
registry, with the tooltip that says what that means, and only those."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from ingestion.events import events_ingest
from ingestion.rollups import rollups_rebuild
from lifecycle.catalog.models import SEEN_IN_SERVING_HELP, Endpoint, ModelVersion
from tests import factories

pytestmark = pytest.mark.django_db
BADGE = "seen-in-serving"


@pytest.fixture
def seen(fraud_scorer, now):
    """fraud-scorer v1 from the registry on scoring; v2 and scoring-eu only from serving."""
    v1 = factories.version_make(fraud_scorer, "1", registered_at=now - timedelta(days=30))
    factories.deployment_make(
        v1, endpoint=factories.endpoint_make("scoring"), started_at=now - timedelta(days=20)
    )
    at = now - timedelta(hours=2)
    rows = [
        {
            "event_id": f"e-{i}",
            "timestamp": (at + timedelta(minutes=i)).isoformat(),
            "model": "fraud-scorer",
            "version": version,
            "endpoint": endpoint,
            "latency_ms": 12.0,
            "status": "ok",
        }
        for i, (version, endpoint) in enumerate([("1", "scoring"), ("2", "scoring-eu")] * 3)
    ]
    events_ingest(rows=rows, principal=None, source="test")
    rollups_rebuild()
    v2 = ModelVersion.objects.get(model=fraud_scorer, version="2")
    # A pipeline deployed v2 without registering it: it is on the deployment tables too.
    factories.deployment_make(
        v2, endpoint=Endpoint.objects.get(name="scoring-eu"), started_at=at - timedelta(minutes=5)
    )
    return v2


def _row(html: str, attribute: str) -> str:
    found = re.search(rf"<tr {attribute}>(.*?)</tr>", html, re.S)
    assert found, f"no row {attribute}"
    return found.group(1)


def _page(client, user, url: str, **query) -> str:
    client.force_login(user)
    response = client.get(url, query)
    assert response.status_code == 200
    return response.content.decode()


def test_the_badge_carries_the_tooltip_that_explains_it(seen, client, bob):
    html = _page(client, bob, reverse("development:index"))
    badge = re.search(rf'<span class="badge {BADGE}" title="([^"]+)">', html)
    assert badge and badge.group(1) == SEEN_IN_SERVING_HELP


def test_the_development_versions_list_flags_the_version(seen, client, bob):
    html = _page(client, bob, reverse("development:index"))
    rows = re.findall(r"<tr><td><a [^>]*>fraud-scorer</a></td><td>(.*?)</td><td>(.*?)</td>", html)
    by_version = {v.split()[0]: (BADGE in v, registered) for v, registered in rows}
    assert by_version["2"] == (True, "not in the registry")
    assert by_version["1"][0] is False and by_version["1"][1].endswith("UTC")


def test_model_health_flags_the_version(seen, client, bob):
    url = reverse("monitoring:model-health", args=["fraud-scorer"])
    html = _page(client, bob, url, window="24h")
    assert BADGE in _row(html, 'data-version="2"')
    assert BADGE not in _row(html, 'data-version="1"')


def test_the_deployment_page_flags_and_lists_what_only_serving_knows(seen, client, bob):
    html = _page(client, bob, reverse("deployment:index"), window="24h")
    listed = html[html.index('id="seen-in-serving"') :]
    assert BADGE in _row(listed, 'data-version="fraud-scorer@2"')
    assert BADGE in _row(listed, 'data-endpoint="scoring-eu"')
    assert 'data-version="fraud-scorer@1"' not in listed
    split = html[html.index('id="traffic-split"') : html.index('id="seen-in-serving"')]
    cells = {
        re.sub(r"<[^>]+>|\s+", " ", row).split()[0]: BADGE in row
        for row in re.findall(r"<tr[^>]*><td>(.*?)</tr>", split, re.S)
    }
    assert cells == {"scoring": False, "scoring-eu": True}


def test_the_deployment_list_follows_the_model_filters(seen, recommender, client, bob):
    html = _page(client, bob, reverse("deployment:index"), model="recommender")
    listed = html[html.index('id="seen-in-serving"') :]
    assert "fraud-scorer@2" not in listed and "scoring-eu" not in listed


def test_the_model_version_and_endpoint_pages_flag_them(seen, client, bob):
    hub = _page(client, bob, reverse("model", args=["fraud-scorer"]), window="24h")
    assert BADGE in _row(hub, 'data-version="2"')
    assert "not in the registry" in _row(hub, 'data-version="2"')
    assert BADGE not in _row(hub, 'data-version="1"')
    assert BADGE in _row(hub, 'data-endpoint="scoring-eu"')
    assert BADGE not in _row(hub, 'data-endpoint="scoring"')
    version = _page(client, bob, reverse("model-version", args=["fraud-scorer", "2"]))
    assert BADGE in version[: version.index("</h1>")]
    endpoint = _page(client, bob, reverse("model-endpoint", args=["fraud-scorer", "scoring"]))
    assert BADGE not in endpoint[: endpoint.index("</h1>")]
