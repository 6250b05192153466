"""The model-health page: per version and endpoint, over time, incidents shown."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse

from ingestion.rollups import rollups_rebuild
from lifecycle.catalog.models import ServingEvent
from lifecycle.monitoring.models import Incident
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def sick_model(fraud_scorer, now):
    v1, v2 = factories.version_make(fraud_scorer, "1"), factories.version_make(fraud_scorer, "2")
    scoring = factories.endpoint_make("scoring")
    events = [
        factories.event_build(
            v1 if i % 2 else v2,
            timestamp=now - timedelta(hours=i % 48, minutes=3),
            latency_ms=20.0 + i % 7,
            endpoint=scoring,
            status="error" if i % 10 == 0 else "ok",
            error_type="timeout" if i % 10 == 0 else "",
        )
        for i in range(200)
    ]
    ServingEvent.objects.bulk_create(events)
    rollups_rebuild()
    Incident.objects.create(
        model=fraud_scorer,
        endpoint=scoring,
        failure_class="timeout",
        title="Feature store slow",
        started_at=now - timedelta(hours=10),
        ended_at=now - timedelta(hours=8),
    )
    return fraud_scorer


def test_the_page_shows_versions_charts_and_incidents(sick_model, client, bob):
    client.force_login(bob)
    response = client.get(
        reverse("monitoring:model-health", args=["fraud-scorer"]), {"window": "7d"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-version="1"' in html and 'data-version="2"' in html
    assert 'data-failure-class="timeout"' in html and "Feature store slow" in html
    figure = json.loads(response.context["charts"]["errors"])
    assert figure["layout"]["shapes"], "the incident is shaded on the chart"
    throughput = json.loads(response.context["charts"]["throughput"])
    names = {trace["name"] for trace in throughput["data"]}
    assert names == {"v1 @ scoring", "v2 @ scoring"}
    assert sum(sum(t["y"]) for t in throughput["data"]) == 200


def test_an_unknown_model_is_404(client, bob):
    client.force_login(bob)
    assert client.get(reverse("monitoring:model-health", args=["nope"])).status_code == 404


def test_a_bad_window_is_400(sick_model, client, bob):
    client.force_login(bob)
    url = reverse("monitoring:model-health", args=["fraud-scorer"])
    assert client.get(url, {"window": "2y"}).status_code == 400


def test_the_model_select_opens_that_models_health_with_the_same_filters(
    sick_model, recommender, client, bob
):
    client.force_login(bob)
    url = reverse("monitoring:model-health", args=["fraud-scorer"])
    response = client.get(url, {"model": "recommender", "window": "30d"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("monitoring:model-health", args=["recommender"]))
    assert "window=30d" in response["Location"]
    # On the model's own page the select shows that model, not "All models".
    page = client.get(url, {"window": "7d"})
    assert page.context["filter_form"]["model"].value() == "fraud-scorer"


def test_a_failure_class_has_one_colour_on_every_chart(sick_model, client, bob):
    from lifecycle.catalog.charts import FAILURE_CLASS_COLOURS

    client.force_login(bob)
    for url in (
        reverse("monitoring:model-health", args=["fraud-scorer"]),
        reverse("monitoring:index"),
    ):
        response = client.get(url, {"window": "7d"})
        charts = response.context.get("charts") or {}
        figure = json.loads(charts["errors"] if charts else response.context["errors_chart"])
        colours = {t["name"]: t["marker"]["color"] for t in figure["data"]}
        assert colours == {"Timeout": FAILURE_CLASS_COLOURS["timeout"]}, url


def test_the_sla_tile_names_the_targets_missed_with_value_and_target(sick_model, client, bob):
    """fraud-scorer's SLA: p95 <= 50 ms (met: 20-26 ms), errors <= 1% (a tenth time out)."""
    client.force_login(bob)
    response = client.get(
        reverse("monitoring:model-health", args=["fraud-scorer"]), {"window": "7d"}
    )
    html = response.content.decode()
    tile = html[html.index('data-kpi="sla_compliance"') :]
    tile = tile[: tile.index('<div class="tile"')] if '<div class="tile"' in tile else tile
    raw = ServingEvent.objects.filter(model=sick_model)
    error_rate = raw.filter(status="error").count() / raw.count()
    assert f"Error rate {error_rate:.2%} &gt; 1.00% target" in tile
    assert 'data-miss="error_rate"' in tile and 'data-miss="latency_p95_ms"' not in tile
    assert "SLA error rate ≤ 1.00%" in html
