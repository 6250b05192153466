"""POST /api/v1/labels/ and /api/v1/metrics/."""

from datetime import timedelta

import pytest

from lifecycle.catalog.models import Label, LifecycleMetric, ServingEvent
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def stamp(event_hour):
    """When labels and metrics are stamped: in the hour the `event` fixture serves in."""
    return (event_hour + timedelta(minutes=45)).isoformat()


def test_a_label_for_an_unknown_event_is_kept_and_joins_later(fraud_v1, root, api_as, event, stamp):
    client = api_as(root)
    # An admin belongs to no team: a label waiting for its event names the model.
    row = {"event_id": "e-1", "label": 1, "timestamp": stamp, "model": "fraud-scorer"}
    response = client.post("/api/v1/labels/", [row], format="json")
    assert response.status_code == 202 and response.json() == {"accepted": 1, "repeats": 0}
    client.post("/api/v1/events/", [event(1)], format="json")
    label = Label.objects.get()
    assert ServingEvent.objects.filter(event_id=label.event_id).exists()


def test_a_repeated_label_counts_once(fraud_scorer, root, api_as, stamp):
    rows = [{"event_id": "e-1", "label": "fraud", "timestamp": stamp, "model": "fraud-scorer"}] * 2
    assert api_as(root).post("/api/v1/labels/", rows, format="json").json() == {
        "accepted": 1,
        "repeats": 1,
    }


def test_a_bad_label_rejects_the_batch(fraud_scorer, root, api_as, stamp):
    rows = [
        {"event_id": "e-1", "label": 1, "timestamp": stamp, "model": "fraud-scorer"},
        {"event_id": "e-2", "timestamp": stamp, "model": "fraud-scorer"},
    ]
    response = api_as(root).post("/api/v1/labels/", rows, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"index": 1, "field": "label", "reason": "is required"}]
    assert not Label.objects.exists()


def test_a_token_may_not_label_another_teams_events(fraud_v1, growth_team, token_client, stamp):
    ServingEvent.objects.bulk_create([factories.event_build(fraud_v1, event_id="e-1")])
    rows = [{"event_id": "e-1", "label": 1, "timestamp": stamp, "model": "fraud-scorer"}]
    response = token_client(growth_team).post("/api/v1/labels/", rows, format="json")
    assert response.status_code == 403


@pytest.fixture
def metric(stamp):
    """metric(**overrides) -> a development metric of fraud-scorer v1 as a dict."""
    return lambda **overrides: _metric(timestamp=stamp, **overrides)


def _metric(**overrides):
    row = {
        "model": "fraud-scorer",
        "version": "1",
        "phase": "development",
        "name": "auc",
        "value": 0.91,
        "dimensions": {"run_id": "r-7"},
    }
    row.update(overrides)
    return row


def test_a_metric_is_stored_with_its_dimensions(fraud_v1, risk_team, token_client, metric):
    response = token_client(risk_team).post("/api/v1/metrics/", [metric()], format="json")
    assert response.status_code == 202
    stored = LifecycleMetric.objects.get()
    assert (stored.model_version, stored.phase, stored.value) == (fraud_v1, "development", 0.91)
    assert stored.dimensions == {"run_id": "r-7"} and stored.metric_id.startswith("sha256:")


def test_a_retried_metric_push_is_a_repeat(fraud_v1, root, api_as, metric):
    client = api_as(root)
    client.post("/api/v1/metrics/", [metric()], format="json")
    response = client.post(
        "/api/v1/metrics/", [metric(), metric(dimensions={"run_id": "r-8"})], format="json"
    )
    assert response.json() == {"accepted": 1, "repeats": 1}


def test_a_client_metric_id_decides_what_is_a_repeat(fraud_v1, root, api_as, metric):
    rows = [metric(metric_id="m-1"), metric(metric_id="m-1", value=0.5)]
    assert api_as(root).post("/api/v1/metrics/", rows, format="json").json()["repeats"] == 1


def test_a_metric_without_version_belongs_to_the_model(fraud_v1, root, api_as, metric):
    api_as(root).post("/api/v1/metrics/", [metric(version=None, phase="value")], format="json")
    assert LifecycleMetric.objects.get().model_version is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"phase": "fun"}, "phase"),
        ({"value": "high"}, "value"),
        ({"version": "9"}, "version"),
        ({"dimensions": [1]}, "dimensions"),
        ({"name": ""}, "name"),
    ],
)
def test_each_metric_rule_names_its_field(fraud_v1, root, api_as, overrides, field, metric):
    response = api_as(root).post("/api/v1/metrics/", [metric(**overrides)], format="json")
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_a_token_may_not_push_metrics_for_another_team(fraud_v1, growth_team, token_client, metric):
    response = token_client(growth_team).post("/api/v1/metrics/", [metric()], format="json")
    assert response.status_code == 403
