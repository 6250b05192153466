"""Pushed ids are each team's own: two teams may use one event id (or a model's metric
id another model's), a repeat counts once within the team, and labels join only their
own team's events. Fraud-scorer is the risk team's, the recommender growth's."""

from datetime import timedelta

import pytest

from ingestion.logfiles import log_file_ingest
from ingestion.rollups import rollups_refresh
from lifecycle.catalog.models import Label, LifecycleMetric, RegisteredModel, ServingEvent
from tests import factories
from tests.ingestion.test_kserve import _message, _post

pytestmark = pytest.mark.django_db
EVENTS, LABELS, METRICS = "/api/v1/events/", "/api/v1/labels/", "/api/v1/metrics/"


def _event(now, model: str, event_id: str = "e-1") -> dict:
    return {
        "event_id": event_id,
        "timestamp": (now - timedelta(minutes=10)).isoformat(),
        "model": model,
        "version": "1",
        "latency_ms": 12.0,
        "status": "ok",
    }


def _label(now, event_id: str = "e-1", **extra) -> dict:
    return {"event_id": event_id, "label": 1, "timestamp": now.isoformat(), **extra}


def _kpis(client, model: str) -> dict:
    rollups_refresh()  # the pushes' own refresh waits for a commit that tests never make
    answer = client.get(f"/api/v1/kpis/models/{model}/?window=24h").json()
    return {k["id"]: k["value"] for k in answer["kpis"]}


@pytest.fixture
def risk(risk_team, token_client):
    return token_client(risk_team)


@pytest.fixture
def growth(growth_team, token_client):
    return token_client(growth_team)


@pytest.fixture
def reader(alice, api_as):
    return api_as(alice)


def test_two_teams_may_push_the_same_event_id(fraud_v1, reco_v1, risk, growth, reader, now):
    assert risk.post(EVENTS, [_event(now, "fraud-scorer")], format="json").json() == {
        "accepted": 1,
        "repeats": 0,
    }
    assert growth.post(EVENTS, [_event(now, "recommender")], format="json").json() == {
        "accepted": 1,
        "repeats": 0,
    }
    stored = ServingEvent.objects.values_list("event_id", "model__name", "team__name")
    assert sorted(stored) == [("e-1", "fraud-scorer", "risk"), ("e-1", "recommender", "growth")]
    assert _kpis(reader, "fraud-scorer")["inferences"] == 1
    assert _kpis(reader, "recommender")["inferences"] == 1


def test_a_repeat_within_a_team_counts_once(fraud_v1, risk_team, risk, reader, now):
    churn = factories.model_make("churn", team=risk_team)
    factories.version_make(churn, "1")
    risk.post(EVENTS, [_event(now, "fraud-scorer")], format="json")
    again = [_event(now, "fraud-scorer"), _event(now, "fraud-scorer", "e-2")] * 2
    assert risk.post(EVENTS, again, format="json").json() == {"accepted": 1, "repeats": 3}
    # The id is the team's: another model of the same team repeats it.
    response = risk.post(EVENTS, [_event(now, "churn")], format="json")
    assert response.json() == {"accepted": 0, "repeats": 1}
    assert ServingEvent.objects.count() == 2
    assert _kpis(reader, "fraud-scorer")["inferences"] == 2


def test_a_label_of_another_team_waits_for_that_teams_event(
    fraud_v1, reco_v1, risk, growth, growth_team, reader, now
):
    risk.post(EVENTS, [_event(now, "fraud-scorer")], format="json")
    response = growth.post(LABELS, [_label(now)], format="json")
    assert response.status_code == 202 and response.json() == {"accepted": 1, "repeats": 0}
    assert Label.objects.get().team == growth_team
    assert _kpis(reader, "fraud-scorer")["label_coverage"] == 0
    growth.post(EVENTS, [_event(now, "recommender")], format="json")
    assert _kpis(reader, "recommender")["label_coverage"] == 1
    assert _kpis(reader, "fraud-scorer")["label_coverage"] == 0


def test_a_label_joins_its_own_teams_event_when_both_teams_use_the_id(
    fraud_v1, reco_v1, risk, growth, reader, now
):
    risk.post(EVENTS, [_event(now, "fraud-scorer")], format="json")
    growth.post(EVENTS, [_event(now, "recommender")], format="json")
    risk.post(LABELS, [_label(now)], format="json")
    assert _kpis(reader, "fraud-scorer")["label_coverage"] == 1
    assert _kpis(reader, "recommender")["label_coverage"] == 0
    assert risk.post(LABELS, [_label(now)], format="json").json() == {"accepted": 0, "repeats": 1}


def test_an_admin_label_names_its_model_when_the_id_is_ambiguous_or_not_arrived(
    fraud_v1, reco_v1, risk, growth, growth_team, risk_team, root, api_as, now
):
    risk.post(
        EVENTS, [_event(now, "fraud-scorer"), _event(now, "fraud-scorer", "e-3")], format="json"
    )
    growth.post(EVENTS, [_event(now, "recommender")], format="json")
    admin = api_as(root)
    response = admin.post(LABELS, [_label(now), _label(now, "e-2")], format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [(0, "model"), (1, "model")]
    assert "several teams" in errors[0]["reason"] and "has arrived" in errors[1]["reason"]
    assert not Label.objects.exists()
    rows = [_label(now, model="recommender"), _label(now, "e-2", model="recommender")]
    assert admin.post(LABELS, [*rows, _label(now, "e-3")], format="json").status_code == 202
    assert sorted(Label.objects.values_list("event_id", "team")) == [
        ("e-1", growth_team.pk),
        ("e-2", growth_team.pk),
        ("e-3", risk_team.pk),  # only one team's event has the id
    ]


def test_a_moved_model_keeps_counting_repeats_once_and_its_new_team_labels_it(
    fraud_v1, fraud_scorer, risk_team, growth_team, risk, growth, reader, now
):
    risk.post(EVENTS, [_event(now, "fraud-scorer")], format="json")
    RegisteredModel.objects.filter(pk=fraud_scorer.pk).update(team=growth_team)
    rows = [_event(now, "fraud-scorer"), _event(now, "fraud-scorer", "e-2")]
    assert growth.post(EVENTS, rows, format="json").json() == {"accepted": 1, "repeats": 1}
    assert sorted(ServingEvent.objects.values_list("event_id", "team")) == [
        ("e-1", risk_team.pk),  # stored events keep the team they came in with
        ("e-2", growth_team.pk),
    ]
    growth.post(LABELS, [_label(now), _label(now, "e-2")], format="json")
    assert _kpis(reader, "fraud-scorer")["label_coverage"] == 1


def _metric(now, model: str, **overrides) -> dict:
    return {
        "metric_id": "m-1",
        "model": model,
        "phase": "value",
        "name": "revenue_usd",
        "value": 10.0,
        "timestamp": (now - timedelta(days=1)).isoformat(),
        **overrides,
    }


def test_metric_ids_are_each_models_own(
    fraud_v1, reco_v1, fraud_scorer, growth_team, risk, growth, now
):
    assert risk.post(METRICS, [_metric(now, "fraud-scorer")], format="json").json()["accepted"] == 1
    response = growth.post(METRICS, [_metric(now, "recommender", value=3.0)], format="json")
    assert response.json() == {"accepted": 1, "repeats": 0}
    assert sorted(LifecycleMetric.objects.values_list("model__name", "value")) == [
        ("fraud-scorer", 10.0),
        ("recommender", 3.0),
    ]
    RegisteredModel.objects.filter(pk=fraud_scorer.pk).update(team=growth_team)
    retried = [_metric(now, "fraud-scorer", value=11.0)] * 2
    assert growth.post(METRICS, retried, format="json").json() == {"accepted": 0, "repeats": 2}


def test_a_log_file_stores_the_same_id_for_two_teams_once_each(fraud_v1, reco_v1, tmp_path, now):
    import json

    lines = [_event(now, "fraud-scorer"), _event(now, "recommender"), _event(now, "fraud-scorer")]
    path = tmp_path / "serving.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    summary = log_file_ingest(path=path)
    assert (summary.accepted, summary.repeats) == (2, 1)
    assert ServingEvent.objects.filter(event_id="e-1").count() == 2


def test_a_kserve_pair_is_no_redelivery_of_another_teams_event(
    fraud_v1, reco_v1, growth, root, api_as, now
):
    growth.post(EVENTS, [_event(now, "recommender", "c-1")], format="json")
    client = api_as(root)
    at = now - timedelta(minutes=5)
    _post(client, _message("request", "c-1", {"instances": [[1.0, 2.0]]}, at=at))
    answer = _post(client, _message("response", "c-1", {"predictions": [1]}, at=at)).json()
    assert answer == {"accepted": 1, "repeats": 0, "pending": False}
    stored = ServingEvent.objects.filter(event_id="c-1").values_list("model__name", "team__name")
    assert sorted(stored) == [("fraud-scorer", "risk"), ("recommender", "growth")]
