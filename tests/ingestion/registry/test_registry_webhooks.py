"""MLflow webhooks: HMAC-verified, exact, preferred over a poll's interval."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections
from django.test.testcases import LiveServerThread, _StaticFilesHandler
from django.utils import timezone
from rest_framework.test import APIClient

from ingestion.registry.sync import registry_sync
from ingestion.registry.webhooks import webhook_signature
from lifecycle.catalog.models import Deployment
from lifecycle.deployment.models import ChangeKind, ChangeSource, LifecycleChange
from tests import factories
from tests.lifecycle.deployment.factories import change_make, registry_make

SECRET = "whsec-test-1"
URL = "/api/v1/registries/mlflow-main/webhook/"


def _delivery(payload: dict, *, secret: str = SECRET, age_seconds: int = 0) -> dict:
    """A signed delivery, sent now; `age_seconds` makes it that much older (a replay)."""
    body = json.dumps(payload)
    delivery_id = str(uuid.uuid4())
    stamp = str(int(time.time()) - age_seconds)
    return {
        "data": body,
        "content_type": "application/json",
        "HTTP_X_MLFLOW_DELIVERY_ID": delivery_id,
        "HTTP_X_MLFLOW_TIMESTAMP": stamp,
        "HTTP_X_MLFLOW_SIGNATURE": webhook_signature(
            secret=secret, delivery_id=delivery_id, timestamp=stamp, body=body.encode()
        ),
    }


def _alias_created(version: str, alias: str = "champion", at: datetime | None = None) -> dict:
    return {
        "entity": "model_version_alias",
        "action": "created",
        "timestamp": (at or datetime.now(UTC)).isoformat(),
        "data": {"name": "fraud-scorer", "alias": alias, "version": version},
    }


@pytest.fixture
def hooked(db, fraud_scorer):
    endpoint = factories.endpoint_make("scoring")
    registry = registry_make(webhook_secret=SECRET, deploy_endpoint=endpoint)
    return registry


@pytest.mark.django_db
def test_a_signed_alias_webhook_is_recorded_at_its_exact_time(hooked, fraud_scorer, now):
    version = factories.version_make(fraud_scorer, "2")
    at = now - timedelta(seconds=3)
    response = APIClient().post(URL, **_delivery(_alias_created("2", at=at)))
    assert response.status_code == 200, response.json()
    change = LifecycleChange.objects.get(kind=ChangeKind.ALIAS_SET)
    assert change.source == ChangeSource.WEBHOOK and change.is_exact
    assert change.happened_before == at and change.model_version == version
    deployed = LifecycleChange.objects.get(kind=ChangeKind.DEPLOYED)
    assert deployed.deployment.started_at == at and deployed.deployment.role == "production"


@pytest.mark.django_db
def test_a_repeated_delivery_changes_nothing(hooked, fraud_scorer):
    factories.version_make(fraud_scorer, "2")
    delivery = _delivery(_alias_created("2"))
    assert APIClient().post(URL, **delivery).status_code == 200
    again = APIClient().post(URL, **delivery)
    assert again.json()["repeat"] is True
    assert LifecycleChange.objects.filter(kind=ChangeKind.ALIAS_SET).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("tamper", "status", "field"),
    [
        ({"secret": "wrong"}, 401, "X-MLflow-Signature"),
        ({"age_seconds": 3600}, 400, "X-MLflow-Timestamp"),
    ],
)
def test_a_forged_or_replayed_delivery_is_refused(hooked, fraud_scorer, tamper, status, field):
    factories.version_make(fraud_scorer, "2")
    response = APIClient().post(URL, **_delivery(_alias_created("2"), **tamper))
    assert response.status_code == status
    assert response.json()["field"] == field
    assert not LifecycleChange.objects.exists()


@pytest.mark.django_db
def test_an_unsigned_delivery_is_refused(hooked):
    response = APIClient().post(URL, data="{}", content_type="application/json")
    assert response.status_code == 401


@pytest.mark.django_db
def test_a_registry_without_a_webhook_secret_takes_no_webhooks(fraud_scorer):
    registry_make()
    response = APIClient().post(URL, **_delivery(_alias_created("2")))
    assert response.status_code == 404


@pytest.mark.django_db
def test_a_late_webhook_supersedes_the_polled_interval_and_moves_the_deployment(
    hooked, fraud_scorer, now
):
    version = factories.version_make(fraud_scorer, "2")
    deployment = factories.deployment_make(version, endpoint=hooked.deploy_endpoint, started_at=now)
    polled_alias = change_make(
        version,
        ChangeKind.ALIAS_SET,
        source=ChangeSource.POLL,
        key="champion",
        role="production",
        happened_after=now - timedelta(minutes=15),
        happened_before=now,
        registry=hooked,
    )
    polled_deploy = change_make(
        version,
        ChangeKind.DEPLOYED,
        source=ChangeSource.POLL,
        role="production",
        endpoint=hooked.deploy_endpoint,
        deployment=deployment,
        happened_after=now - timedelta(minutes=15),
        happened_before=now,
        registry=hooked,
    )
    exact = now - timedelta(minutes=4)
    assert APIClient().post(URL, **_delivery(_alias_created("2", at=exact))).status_code == 200

    current = LifecycleChange.objects.current()
    assert not current.filter(pk__in=[polled_alias.pk, polled_deploy.pk]).exists()
    alias = current.get(kind=ChangeKind.ALIAS_SET)
    assert alias.supersedes == polled_alias and alias.happened_before == exact
    deployment.refresh_from_db()
    assert deployment.started_at == exact
    assert Deployment.objects.count() == 1


# --- a real MLflow server delivering to a real kpiboard --------------------------------


@pytest.fixture
def kpiboard_server(transactional_db) -> Iterator[str]:
    """kpiboard served on 127.0.0.1:8140-8149 in a thread sharing the test database."""
    shared = {
        conn.alias: conn
        for conn in connections.all()
        if conn.vendor == "sqlite" and conn.is_in_memory_db()
    }
    for conn in shared.values():
        conn.inc_thread_sharing()
    thread = None
    for port in range(8140, 8150):
        thread = LiveServerThread("127.0.0.1", _StaticFilesHandler, shared, port)
        thread.daemon = True
        thread.start()
        thread.is_ready.wait()
        if thread.error is None:
            break
        thread = None
    assert thread is not None, "no free port in 8140-8149 for kpiboard"
    yield f"http://127.0.0.1:{port}"
    thread.terminate()
    # A request thread may still be closing its connections: let it finish before the
    # shared connection stops being shareable.
    for other in threading.enumerate():
        if "process_request_thread" in other.name:
            other.join(timeout=10)
    for conn in shared.values():
        conn.dec_thread_sharing()


def _wait_for(predicate, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.mlflow
def test_mlflow_delivers_signed_webhooks_that_a_later_poll_does_not_repeat(
    kpiboard_server, mlflow_server, settings, risk_team
):
    # kpiboard_server comes first so it is torn down last: MLflow keeps its delivery
    # connection alive, and only stopping MLflow lets kpiboard's request thread end.
    settings.KPIBOARD_REGISTRY_ALLOWED_HOSTS = ["127.0.0.1"]
    server = mlflow_server(
        env={
            # MLflow refuses plain-http and loopback webhook targets unless told otherwise.
            "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https",
            "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
        }
    )
    client = server.client()
    run = client.create_run(client.create_experiment("webhooks"))
    client.create_registered_model("hooked", tags={"kpiboard.team": "risk"})
    client.create_model_version("hooked", f"runs:/{run.info.run_id}/m", run_id=run.info.run_id)
    registry = registry_make(
        base_url=server.url, default_team=risk_team, webhook_secret="mlflow-shared-secret"
    )
    assert registry_sync(registry_id=registry.pk).ok
    client.create_webhook(
        name="kpiboard",
        url=f"{kpiboard_server}/api/v1/registries/{registry.name}/webhook/",
        events=["model_version_alias.created", "model_version_alias.deleted"],
        secret="mlflow-shared-secret",
    )

    before = timezone.now()
    client.set_registered_model_alias("hooked", "champion", "1")
    after = timezone.now()
    webhook = LifecycleChange.objects.filter(source=ChangeSource.WEBHOOK, kind=ChangeKind.ALIAS_SET)
    assert _wait_for(webhook.exists), "MLflow did not deliver the webhook"
    change = webhook.get()
    assert change.is_exact and before <= change.happened_before <= after + timedelta(seconds=1)

    # The poll sees the alias too, but the webhook already said exactly when.
    report = registry_sync(registry_id=registry.pk)
    assert report.ok and report.changes == 0
    assert LifecycleChange.objects.filter(kind=ChangeKind.ALIAS_SET).count() == 1
