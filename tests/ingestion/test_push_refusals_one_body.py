"""Every push (events, labels, metrics, KServe, registry events, dataset uploads) refuses
with one body, {detail, error_count, errors: [{index, field, reason}]}, at 400, 403 and
413 alike; a team-scope refusal (403) is a property of the error, not of its wording."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ingestion.validation import BatchRejected, ItemError
from lifecycle.catalog.models import Dataset, Label, LifecycleMetric, Role, ServingEvent
from lifecycle.deployment.models import LifecycleChange
from tests import factories
from tests.refusals import refused_fields

pytestmark = pytest.mark.django_db

# An unknown model whose name reads like a team-scope refusal.
SOUNDS_FORBIDDEN = "a model this team may not push or label"


def test_it_refuses_an_unknown_model_named_like_a_refusal_with_400_for_events(
    token_client, risk_team, fraud_v1, event
):
    response = token_client(risk_team).post(
        "/api/v1/events/", [event(1, model=SOUNDS_FORBIDDEN)], format="json"
    )
    assert response.status_code == 400
    assert "no registered model" in refused_fields(response)["model"]
    assert not ServingEvent.objects.exists()


def test_it_refuses_an_unknown_model_named_like_a_refusal_with_400_for_labels(
    token_client, risk_team, fraud_v1, now
):
    label = {"event_id": "e-1", "label": 1, "timestamp": now.isoformat()}
    response = token_client(risk_team).post(
        "/api/v1/labels/", [{**label, "model": SOUNDS_FORBIDDEN}], format="json"
    )
    assert response.status_code == 400
    assert "model" in refused_fields(response)
    assert not Label.objects.exists()


def test_it_refuses_an_unknown_model_named_like_a_refusal_with_400_for_metrics(
    token_client, risk_team, fraud_v1, now
):
    metric = {"phase": "development", "name": "auc", "value": 0.9, "timestamp": now.isoformat()}
    response = token_client(risk_team).post(
        "/api/v1/metrics/", [{**metric, "model": SOUNDS_FORBIDDEN}], format="json"
    )
    assert response.status_code == 400
    assert "model" in refused_fields(response)
    assert not LifecycleMetric.objects.exists()


def test_it_answers_403_when_every_error_is_marked_forbidden_whatever_its_words():
    rejected = BatchRejected([ItemError(0, "model", "not yours", forbidden=True)])
    assert rejected.status == 403
    mixed = BatchRejected(
        [ItemError(0, "model", "not yours", forbidden=True), ItemError(1, "status", "bad")]
    )
    assert mixed.status == 400


def test_it_answers_another_teams_model_with_403_and_the_item_list(
    token_client, growth_team, fraud_v1, event
):
    response = token_client(growth_team).post("/api/v1/events/", [event(1)], format="json")
    assert response.status_code == 403
    assert "model" in refused_fields(response)


def test_it_refuses_too_many_events_with_413_and_the_one_body(
    token_client, risk_team, fraud_v1, event, settings
):
    settings.KPIBOARD_INGEST_MAX_ITEMS = 2
    response = token_client(risk_team).post(
        "/api/v1/events/", [event(i) for i in range(3)], format="json"
    )
    assert response.status_code == 413
    assert "limit is 2" in refused_fields(response)["body"]
    assert response.json()["errors"][0]["index"] is None
    assert not ServingEvent.objects.exists()


def test_it_refuses_an_oversized_events_body_with_413_and_the_one_body(
    token_client, risk_team, fraud_v1, event, settings
):
    settings.KPIBOARD_INGEST_MAX_BODY_BYTES = 64
    response = token_client(risk_team).post(
        "/api/v1/events/", [event(i) for i in range(3)], format="json"
    )
    assert response.status_code == 413
    assert "limit" in refused_fields(response)["body"]


def test_it_refuses_an_oversized_registry_events_body_with_413_and_the_one_body(
    token_client, risk_team, fraud_scorer
):
    client = token_client(risk_team, Role.MLOPS)
    body = b"[" + b" " * (4 * 1024 * 1024 + 1) + b"]"
    response = client.generic(
        "POST",
        "/api/v1/registry-events/",
        data=body,
        content_type="application/json",
    )
    assert response.status_code == 413
    assert "limit" in refused_fields(response)["body"]
    assert not LifecycleChange.objects.exists()


def test_it_refuses_an_oversized_upload_with_413_and_the_one_body(
    token_client, risk_team, settings
):
    settings.DATASET_UPLOAD_MAX_BYTES = 1024
    upload = SimpleUploadedFile("d.csv", b"a,b\n" + b"1,2\n" * 2000)
    response = token_client(risk_team, Role.DATA_TEAM).post(
        "/api/v1/datasets/claims/versions/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 413
    assert "limit" in refused_fields(response)["file"]
    assert not Dataset.objects.filter(name="claims").exists()


def test_it_refuses_an_unprofilable_upload_with_400_the_one_body_and_its_code(
    token_client, risk_team
):
    upload = SimpleUploadedFile("d.csv", b"")
    response = token_client(risk_team, Role.DATA_TEAM).post(
        "/api/v1/datasets/claims/versions/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 400
    assert "file" in refused_fields(response)
    assert response.json()["code"] == "empty"


def test_it_refuses_another_teams_dataset_with_403_and_the_one_body(
    token_client, growth_team, risk_team
):
    factories.dataset_make("claims", team=risk_team)
    upload = SimpleUploadedFile("d.csv", b"a,b\n1,2\n")
    response = token_client(growth_team, Role.DATA_TEAM).post(
        "/api/v1/datasets/claims/versions/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 403
    assert "team 'risk'" in refused_fields(response)["dataset"]
