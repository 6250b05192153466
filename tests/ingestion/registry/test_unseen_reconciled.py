"""A version or endpoint registered from serving traffic is reconciled when a registry
brings it: by a registry event, the MLflow poll's diff, or an MLflow webhook. The flag
clears, the registry's facts replace the stand-ins, and nothing is duplicated."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from rest_framework.test import APIClient

from ingestion.events import events_ingest
from ingestion.registry.mlflow import MlflowModel, MlflowSnapshot, MlflowVersion
from ingestion.registry.sync import snapshot_apply
from lifecycle.catalog.models import Deployment, Endpoint, ModelVersion, ServingEvent
from lifecycle.deployment.models import ChangeKind, LifecycleChange
from tests.ingestion.registry.test_registry_webhooks import SECRET, _delivery
from tests.lifecycle.deployment.factories import registry_make

pytestmark = pytest.mark.django_db
REGISTRY_EVENTS = "/api/v1/registry-events/"


@pytest.fixture
def seen_v2(fraud_v1, fraud_scorer, event):
    """fraud-scorer v2 and endpoint scoring-eu, known only from two serving events."""
    events_ingest(
        rows=[event(1, version="2", endpoint="scoring-eu"), event(2, version="2")],
        principal=None,
        source="test",
    )
    version = ModelVersion.objects.get(model=fraud_scorer, version="2")
    assert version.seen_in_serving_only
    return version


def _iso(moment) -> str:
    return moment.astimezone(UTC).isoformat()


def _reconciled(version: ModelVersion, *, registered_at, run_id: str) -> ModelVersion:
    """The version re-read, after checking it is still the one row its events point at."""
    fresh = ModelVersion.objects.get(model=version.model, version=version.version)
    assert fresh.pk == version.pk
    assert not fresh.seen_in_serving_only and fresh.seen_in_serving_at is None
    assert (fresh.registered_at, fresh.run_id) == (registered_at, run_id)
    assert set(ServingEvent.objects.values_list("model_version", flat=True)) == {version.pk}
    return fresh


def test_a_registered_event_reconciles_the_version(seen_v2, root, now):
    registered_at = now - timedelta(days=2)
    body = {
        "event_id": "reg-2",
        "event": "registered",
        "timestamp": _iso(registered_at),
        "model": "fraud-scorer",
        "version": "2",
        "run_id": "run-42",
    }
    client = APIClient()
    client.force_authenticate(root)
    response = client.post(REGISTRY_EVENTS, body, format="json")
    assert response.status_code == 200, response.json()
    version = _reconciled(seen_v2, registered_at=registered_at, run_id="run-42")
    assert LifecycleChange.objects.filter(kind=ChangeKind.REGISTERED).get().model_version == version


def test_a_deployed_event_reconciles_the_endpoint_and_not_the_version(seen_v2, root, now):
    body = {
        "event_id": "dep-2",
        "event": "deployed",
        "timestamp": _iso(now - timedelta(hours=1)),
        "model": "fraud-scorer",
        "version": "2",
        "endpoint": "scoring-eu",
    }
    client = APIClient()
    client.force_authenticate(root)
    assert client.post(REGISTRY_EVENTS, body, format="json").status_code == 200
    assert not Endpoint.objects.get(name="scoring-eu").seen_in_serving_only
    # Deploying says where a version runs, not when the registry registered it.
    assert ModelVersion.objects.get(pk=seen_v2.pk).seen_in_serving_only
    assert Deployment.objects.get().model_version == seen_v2


def _snapshot(now, created_at) -> MlflowSnapshot:
    seen = now - timedelta(seconds=2)
    return MlflowSnapshot(
        models={"fraud-scorer": MlflowModel("fraud-scorer", {}, "", {}, seen, now)},
        versions=[
            MlflowVersion(
                name="fraud-scorer",
                version="2",
                created_at=created_at,
                updated_at=created_at,
                stage="None",
                status="READY",
                run_id="run-7",
                description="retrained on October",
                tags={},
                sent_at=seen,
                received_at=now,
            )
        ],
        started_at=seen,
        finished_at=now,
    )


def test_the_mlflow_poll_reconciles_the_version_once(seen_v2, now):
    registry = registry_make()
    created_at = now - timedelta(days=3)
    snapshot_apply(registry=registry, snapshot=_snapshot(now, created_at))
    version = _reconciled(seen_v2, registered_at=created_at, run_id="run-7")
    assert version.description == "retrained on October"
    snapshot_apply(registry=registry, snapshot=_snapshot(now, created_at))  # the next poll
    assert ModelVersion.objects.filter(model=seen_v2.model, version="2").count() == 1
    assert LifecycleChange.objects.filter(kind=ChangeKind.REGISTERED).count() == 1


def test_an_mlflow_webhook_reconciles_the_version(seen_v2, now):
    registry_make(webhook_secret=SECRET)
    at = now - timedelta(seconds=5)
    payload = {
        "entity": "model_version",
        "action": "created",
        "timestamp": at.isoformat(),
        "data": {"name": "fraud-scorer", "version": "2", "run_id": "run-8"},
    }
    response = APIClient().post("/api/v1/registries/mlflow-main/webhook/", **_delivery(payload))
    assert response.status_code == 200, response.json()
    _reconciled(seen_v2, registered_at=at, run_id="run-8")
    assert LifecycleChange.objects.filter(kind=ChangeKind.REGISTERED).count() == 1


def test_the_poll_deploying_to_an_endpoint_seen_in_serving_reconciles_it(seen_v2, now):
    endpoint = Endpoint.objects.get(name="scoring-eu")
    registry = registry_make(deploy_endpoint=endpoint)
    snapshot = _snapshot(now, now - timedelta(days=3))
    snapshot.models["fraud-scorer"] = MlflowModel(
        "fraud-scorer", {}, "", {"champion": "2"}, now - timedelta(seconds=2), now
    )
    snapshot_apply(registry=registry, snapshot=snapshot)
    assert Deployment.objects.get().endpoint == endpoint
    assert not Endpoint.objects.get(pk=endpoint.pk).seen_in_serving_only
