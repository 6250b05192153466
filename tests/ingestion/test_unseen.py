"""Versions and endpoints serving events name before the catalog has them: registered as
seen in serving (the default), or refused with KPIBOARD_UNKNOWN_SERVING=refuse; an
unknown model is refused either way, and nothing of its batch is stored."""

import json
from datetime import datetime, timedelta

import pytest
from django.db import transaction
from django.test import override_settings

from ingestion.events import events_ingest, events_store, events_validate
from ingestion.logfiles import log_file_ingest
from ingestion.registry.ledger import catalog_version_ensure
from ingestion.validation import BatchRejected
from lifecycle.catalog.auth import TokenPrincipal
from lifecycle.catalog.models import Endpoint, ModelVersion, ServingEvent
from lifecycle.catalog.tokens import api_token_create
from tests import factories
from tests.ingestion.test_kserve import _message as kserve_message
from tests.ingestion.test_kserve import _post as kserve_post

pytestmark = pytest.mark.django_db
URL = "/api/v1/events/"
REFUSE = override_settings(KPIBOARD_UNKNOWN_SERVING="refuse")


def _earliest(rows) -> datetime:
    return min(datetime.fromisoformat(r["timestamp"]) for r in rows)


def test_an_unknown_version_of_a_known_model_is_registered_as_seen_in_serving(
    fraud_v1, fraud_scorer, risk_team, token_client, event
):
    rows = [event(5, version="2"), event(3, version="2"), event(4)]
    response = token_client(risk_team).post(URL, rows, format="json")
    assert response.status_code == 202, response.json()
    assert response.json() == {"accepted": 3, "repeats": 0}
    fresh = ModelVersion.objects.get(model=fraud_scorer, version="2")
    first = _earliest(rows[:2])
    assert fresh.seen_in_serving_at == first and fresh.seen_in_serving_only
    assert fresh.registered_at == first  # a stand-in until a registry says
    assert not ModelVersion.objects.get(pk=fraud_v1.pk).seen_in_serving_only
    by_version = dict(
        ServingEvent.objects.values_list("event_id", "model_version__version").order_by()
    )
    assert by_version == {"e-5": "2", "e-3": "2", "e-4": "1"}


def test_an_unknown_endpoint_is_registered_for_the_models_team(
    fraud_v1, risk_team, token_client, event
):
    rows = [event(2, endpoint="scoring-eu"), event(1, endpoint="scoring-eu")]
    response = token_client(risk_team).post(URL, rows, format="json")
    assert response.status_code == 202, response.json()
    endpoint = Endpoint.objects.get(name="scoring-eu")
    assert endpoint.team == risk_team
    assert endpoint.seen_in_serving_at == _earliest(rows)
    assert set(ServingEvent.objects.values_list("endpoint__name", flat=True)) == {"scoring-eu"}


def test_a_later_push_uses_the_version_registered_from_serving(
    fraud_v1, fraud_scorer, root, api_as, event
):
    client = api_as(root)
    client.post(URL, [event(1, version="2")], format="json")
    first_seen = ModelVersion.objects.get(version="2").seen_in_serving_at
    response = client.post(URL, [event(2, version="2"), event(3, version="2")], format="json")
    assert response.json() == {"accepted": 2, "repeats": 0}
    assert ModelVersion.objects.filter(model=fraud_scorer, version="2").count() == 1
    assert ModelVersion.objects.get(version="2").seen_in_serving_at == first_seen


@REFUSE
def test_with_refuse_an_unknown_version_or_endpoint_is_a_400_naming_item_and_field(
    fraud_v1, root, api_as, event
):
    rows = [event(1), event(2, version="2"), event(3, endpoint="scoring-eu")]
    response = api_as(root).post(URL, rows, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [(1, "version"), (2, "endpoint")]
    assert all("KPIBOARD_UNKNOWN_SERVING=refuse" in e["reason"] for e in errors)
    assert "no version '2'" in errors[0]["reason"]
    assert not ServingEvent.objects.exists()
    assert not ModelVersion.objects.filter(version="2").exists()
    assert not Endpoint.objects.exists()


def test_an_unknown_model_is_refused_and_nothing_of_its_batch_is_stored(
    fraud_v1, root, api_as, event
):
    rows = [event(1, version="2", endpoint="scoring-eu"), event(2, model="nope")]
    response = api_as(root).post(URL, rows, format="json")
    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(1, "model")]
    assert "no registered model named 'nope'" in response.json()["errors"][0]["reason"]
    assert not ServingEvent.objects.exists()
    assert not ModelVersion.objects.filter(version="2").exists()
    assert not Endpoint.objects.exists()


def test_another_teams_model_gets_no_version_from_a_token(
    fraud_v1, growth_team, token_client, event
):
    response = token_client(growth_team).post(URL, [event(1, version="2")], format="json")
    assert response.status_code == 403
    assert not ModelVersion.objects.filter(version="2").exists()


def test_a_version_name_the_catalog_cannot_hold_is_refused_saying_why(
    fraud_v1, root, api_as, event
):
    response = api_as(root).post(URL, [event(1, version="v" * 101)], format="json")
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["field"] == "version" and "cannot be registered" in error["reason"]


def test_a_version_another_push_registered_meanwhile_is_found_not_duplicated(
    fraud_v1, fraud_scorer, event
):
    # Two pushes validated while the version was unknown: the first to store registers
    # it, and the second, storing later in its own transaction, finds that row.
    late = events_validate(rows=[event(1, version="2", endpoint="scoring-eu")], principal=None)
    assert late.unseen
    events_ingest(rows=[event(2, version="2", endpoint="scoring-eu")], principal=None, source="t")
    with transaction.atomic():
        assert events_store(events=late.events, unseen=late.unseen) == 1
    version = ModelVersion.objects.get(model=fraud_scorer, version="2")
    assert set(ServingEvent.objects.values_list("model_version", flat=True)) == {version.pk}
    assert Endpoint.objects.filter(name="scoring-eu").count() == 1


def test_a_version_a_registry_brought_meanwhile_is_used_unflagged(
    fraud_v1, fraud_scorer, event, now
):
    late = events_validate(rows=[event(1, version="2")], principal=None)
    registered = catalog_version_ensure(
        model=fraud_scorer, version="2", registered_at=now - timedelta(days=1)
    )
    with transaction.atomic():
        events_store(events=late.events, unseen=late.unseen)
    assert ServingEvent.objects.get().model_version == registered
    assert not ModelVersion.objects.get(pk=registered.pk).seen_in_serving_only


def test_an_endpoint_another_team_took_meanwhile_refuses_the_batch(
    fraud_v1, risk_team, growth_team, event
):
    token, _ = api_token_create(team=risk_team)
    principal = TokenPrincipal(token)
    late = events_validate(rows=[event(1, endpoint="scoring-eu")], principal=principal)
    factories.endpoint_make("scoring-eu", team=growth_team)
    with pytest.raises(BatchRejected) as refused, transaction.atomic():
        events_store(events=late.events, unseen=late.unseen)
    assert refused.value.forbidden and refused.value.errors[0].field == "endpoint"
    assert not ServingEvent.objects.exists()


def test_log_files_register_unknown_versions_too(fraud_v1, fraud_scorer, event, tmp_path):
    rows = [event(1, version="3"), event(2, version="3", endpoint="batch-scoring")]
    path = tmp_path / "serving.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = log_file_ingest(path=path)
    assert (summary.accepted, summary.rejected) == (2, 0)
    version = ModelVersion.objects.get(model=fraud_scorer, version="3")
    assert version.seen_in_serving_at == _earliest(rows)
    assert Endpoint.objects.get(name="batch-scoring").seen_in_serving_only


@REFUSE
def test_with_refuse_log_files_reject_the_lines_naming_the_reason(fraud_v1, event, tmp_path):
    path = tmp_path / "serving.jsonl"
    path.write_text(json.dumps(event(1)) + "\n" + json.dumps(event(2, version="3")) + "\n")
    summary = log_file_ingest(path=path, rejects_path=tmp_path / "rejects.txt")
    assert (summary.accepted, summary.rejected) == (1, 1)
    assert (
        "version: model 'fraud-scorer' has no version '3'" in (tmp_path / "rejects.txt").read_text()
    )
    assert not ModelVersion.objects.filter(version="3").exists()


def _kserve_pair(client, ce_id: str, at: datetime, *, version: str) -> None:
    outputs = {
        "model_name": "fraud-scorer",
        "model_version": version,
        "outputs": [{"name": "score", "shape": [1, 1], "datatype": "FP32", "data": [0.9]}],
    }
    inputs = {"inputs": [{"name": "amount", "shape": [1], "datatype": "FP32", "data": [10.5]}]}
    for kind, body, moment in (("request", inputs, at), ("response", outputs, at)):
        response = kserve_post(client, kserve_message(kind, ce_id, body, at=moment))
        assert response.status_code == 202, response.json()


def test_kserve_registers_the_version_a_response_names(fraud_v1, fraud_scorer, root, api_as, now):
    at = now - timedelta(minutes=1)
    _kserve_pair(api_as(root), "c-1", at, version="7")
    version = ModelVersion.objects.get(model=fraud_scorer, version="7")
    assert version.seen_in_serving_at == at
    assert ServingEvent.objects.get().model_version == version


@REFUSE
def test_with_refuse_kserve_puts_an_unknown_named_version_on_the_production_one(
    fraud_v1, root, api_as, now
):
    factories.deployment_make(fraud_v1, started_at=now - timedelta(days=1))
    _kserve_pair(api_as(root), "c-1", now - timedelta(minutes=1), version="7")
    assert ServingEvent.objects.get().model_version == fraud_v1
    assert not ModelVersion.objects.filter(version="7").exists()
