"""What a token pushes records the token (`pushed_by`), on every path that stores a
push: events (the ORM on SQLite, COPY on PostgreSQL), labels, metrics, KServe, registry
events, dataset uploads and training runs. Sessions and in-process sources record none,
and deleting a token keeps what it pushed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from ingestion.events import events_ingest
from lifecycle.catalog.models import (
    DatasetVersion,
    Label,
    LifecycleMetric,
    Role,
    ServingEvent,
)
from lifecycle.catalog.tokens import api_token_create
from lifecycle.deployment.models import LifecycleChange
from lifecycle.development.models import TrainingRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def risk_token(risk_team):
    """(the token, a client sending it) for the risk team, MLOps role."""
    token, key = api_token_create(team=risk_team, role=Role.MLOPS, name="pipeline")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return token, client


def test_it_records_the_pushing_token_on_each_stored_event(risk_token, fraud_v1, event):
    token, client = risk_token
    response = client.post("/api/v1/events/", [event(1), event(2)], format="json")
    assert response.status_code == 202
    assert list(ServingEvent.objects.values_list("pushed_by", flat=True)) == [token.pk] * 2


def test_a_repeat_keeps_the_first_pushers_token(risk_token, risk_team, fraud_v1, event):
    token, client = risk_token
    client.post("/api/v1/events/", [event(1)], format="json")
    _, key = api_token_create(team=risk_team, role=Role.MLOPS, name="retry")
    retry = APIClient()
    retry.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert retry.post("/api/v1/events/", [event(1)], format="json").json()["repeats"] == 1
    assert ServingEvent.objects.get().pushed_by == token


def test_a_session_push_and_an_in_process_source_record_no_token(root, api_as, fraud_v1, event):
    assert api_as(root).post("/api/v1/events/", [event(1)], format="json").status_code == 202
    events_ingest(rows=[event(2)], principal=None, source="test")
    assert list(ServingEvent.objects.values_list("pushed_by", flat=True)) == [None, None]


def test_it_records_the_token_on_labels_and_metrics(risk_token, fraud_v1, event, now):
    token, client = risk_token
    client.post("/api/v1/events/", [event(1)], format="json")
    label = {"event_id": "e-1", "label": 1, "timestamp": now.isoformat()}
    assert client.post("/api/v1/labels/", [label], format="json").status_code == 202
    metric = {
        "model": "fraud-scorer",
        "phase": "development",
        "name": "auc",
        "value": 0.91,
        "timestamp": now.isoformat(),
    }
    assert client.post("/api/v1/metrics/", [metric], format="json").status_code == 202
    assert Label.objects.get().pushed_by == token
    assert LifecycleMetric.objects.get().pushed_by == token


def test_it_records_the_token_on_the_ledger_entries_of_registry_events(
    risk_token, fraud_scorer, now
):
    token, client = risk_token
    registered = {
        "event_id": "reg-2",
        "event": "registered",
        "timestamp": (now - timedelta(hours=1)).isoformat(),
        "model": "fraud-scorer",
        "version": "2",
    }
    assert client.post("/api/v1/registry-events/", registered, format="json").status_code == 200
    assert LifecycleChange.objects.get().pushed_by == token


def test_it_records_the_token_on_an_uploaded_dataset_version(risk_team):
    token, key = api_token_create(team=risk_team, role=Role.DATA_TEAM)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    upload = SimpleUploadedFile("d.csv", b"a,b\n1,2\n3,4\n")
    response = client.post(
        "/api/v1/datasets/claims/versions/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 201, response.content
    assert DatasetVersion.objects.get().pushed_by == token


def test_it_records_the_token_on_a_training_run(risk_token, fraud_v1):
    token, client = risk_token
    run = {"model": "fraud-scorer", "version": "1", "run_id": "r1", "features_total": 10}
    assert client.post("/api/v1/training-runs/", run, format="json").status_code == 201
    assert TrainingRun.objects.get().pushed_by == token


def test_deleting_a_token_keeps_what_it_pushed(risk_token, fraud_v1, event):
    token, client = risk_token
    client.post("/api/v1/events/", [event(1)], format="json")
    token.delete()
    assert ServingEvent.objects.get().pushed_by is None
