"""POST /api/v1/registry-events/: registries kpiboard does not poll push their changes."""

from __future__ import annotations

from datetime import datetime

import pytest

from lifecycle.catalog.models import Deployment, ModelVersion, Role
from lifecycle.deployment.models import ChangeKind, LifecycleChange
from tests import factories

pytestmark = pytest.mark.django_db
URL = "/api/v1/registry-events/"


def _event(**fields):
    base = {
        "event_id": "evt-1",
        "event": "registered",
        "timestamp": "2026-03-01T10:00:00Z",
        "model": "fraud-scorer",
        "version": "7",
    }
    return {**base, **fields}


@pytest.fixture
def scoring(db):
    return factories.endpoint_make("scoring")


@pytest.fixture
def pipeline(token_client, risk_team, fraud_scorer, scoring):
    """The risk team's CI pipeline, pushing with an MLOps token."""
    return token_client(risk_team, Role.MLOPS)


def test_a_pipeline_registers_promotes_and_deploys_a_version_at_exact_times(pipeline):
    response = pipeline.post(
        URL,
        [
            _event(run_id="run-9", run_ended_at="2026-02-27T08:00:00Z", registry="sagemaker"),
            _event(event_id="evt-2", event="promoted", timestamp="2026-03-03T09:00:00+01:00"),
            _event(
                event_id="evt-3",
                event="deployed",
                timestamp="2026-03-04T12:00:00Z",
                endpoint="scoring",
            ),
        ],
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {"accepted": 3, "repeats": 0}
    version = ModelVersion.objects.get(model__name="fraud-scorer", version="7")
    assert version.registered_at == datetime.fromisoformat("2026-03-01T10:00:00+00:00")
    assert version.run_id == "run-9"
    promoted = LifecycleChange.objects.get(kind=ChangeKind.PROMOTED)
    assert promoted.is_exact and promoted.role == "production"
    assert promoted.happened_before == datetime.fromisoformat("2026-03-03T08:00:00+00:00")
    deployed = LifecycleChange.objects.get(kind=ChangeKind.DEPLOYED)
    assert deployed.deployment.role == "production"
    assert deployed.deployment.traffic_share == 1
    assert deployed.deployment.started_at == deployed.happened_before
    registered = LifecycleChange.objects.get(kind=ChangeKind.REGISTERED)
    assert registered.detail["run_ended_at"].startswith("2026-02-27T08:00")
    assert registered.detail["registry"] == "sagemaker"


def test_a_retried_batch_is_counted_once(pipeline):
    batch = {"events": [_event(), _event(event_id="evt-2", event="promoted")]}
    assert pipeline.post(URL, batch, format="json").json() == {"accepted": 2, "repeats": 0}
    assert pipeline.post(URL, batch, format="json").json() == {"accepted": 0, "repeats": 2}
    assert LifecycleChange.objects.count() == 2


def test_a_rollback_replaces_the_newer_production_version(pipeline, fraud_scorer, scoring):
    old = factories.version_make(
        fraud_scorer, "1", registered_at=datetime.fromisoformat("2026-01-01T00:00:00Z")
    )
    new = factories.version_make(
        fraud_scorer, "2", registered_at=datetime.fromisoformat("2026-02-01T00:00:00Z")
    )
    factories.deployment_make(
        old, endpoint=scoring, started_at=datetime.fromisoformat("2026-01-05T00:00:00Z")
    )
    pipeline.post(
        URL,
        [
            _event(
                event_id="d2",
                event="deployed",
                version="2",
                endpoint="scoring",
                timestamp="2026-02-05T00:00:00Z",
            ),
            _event(
                event_id="rb",
                event="rolled_back",
                version="1",
                endpoint="scoring",
                timestamp="2026-02-06T00:00:00Z",
            ),
        ],
        format="json",
    )
    serving = Deployment.objects.filter(ended_at__isnull=True).get()
    assert serving.model_version == old
    replaced = Deployment.objects.get(model_version=new)
    assert replaced.ended_at == serving.started_at
    assert LifecycleChange.objects.get(kind=ChangeKind.ROLLED_BACK).deployment == serving


def test_a_failed_deployment_and_an_archive_are_recorded(pipeline, fraud_scorer, scoring):
    version = factories.version_make(fraud_scorer, "3")
    deployment = factories.deployment_make(version, endpoint=scoring)
    response = pipeline.post(
        URL,
        [
            _event(
                event_id="f",
                event="deployed",
                version="3",
                endpoint="scoring",
                outcome="failed",
                reason="permissions",
                role="canary",
            ),
            _event(event_id="a", event="archived", version="3", timestamp="2026-11-01T00:00:00Z"),
        ],
        format="json",
    )
    assert response.status_code == 200, response.json()
    failed = LifecycleChange.objects.get(kind=ChangeKind.DEPLOYMENT_FAILED)
    assert failed.detail["reason"] == "permissions" and failed.deployment is None
    deployment.refresh_from_db()
    assert deployment.ended_at == datetime.fromisoformat("2026-11-01T00:00:00+00:00")


@pytest.mark.parametrize(
    ("event", "field", "reason"),
    [
        ({"event_id": None}, "event_id", "is required"),
        ({"event": "shipped"}, "event", "must be one of"),
        ({"timestamp": "2026-03-01T10:00:00"}, "timestamp", "needs a time zone"),
        ({"timestamp": "yesterday"}, "timestamp", "not an ISO 8601"),
        ({"model": "nope"}, "model", "unknown model"),
        ({"event": "promoted", "version": "99"}, "version", "unknown version"),
        ({"event": "deployed"}, "endpoint", "is required for a deployed event"),
        ({"event": "deployed", "endpoint": "nowhere"}, "endpoint", "unknown endpoint"),
        ({"traffic_share": 2}, "traffic_share", "from 0 to 1"),
        ({"role": "primary"}, "role", "must be one of"),
        ({"outcome": "failed"}, "outcome", "only a deployed event can fail"),
        ({"colour": "blue"}, "colour", "unknown field"),
        ({"version": 7}, "version", "must be a string"),
    ],
)
def test_a_bad_event_is_a_400_naming_the_field_and_reason(pipeline, event, field, reason):
    good = _event(event_id="good", version="1")
    bad = {k: v for k, v in _event(**event).items() if v is not None}
    response = pipeline.post(URL, [good, bad], format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert any(e["index"] == 1 and e["field"] == field and reason in e["reason"] for e in errors), (
        errors
    )
    # All or nothing: the good event was not stored either.
    assert not LifecycleChange.objects.exists()
    assert not ModelVersion.objects.filter(version="1").exists()


def test_a_body_that_is_not_json_is_a_415(pipeline):
    response = pipeline.post(URL, "event=registered", content_type="text/plain")
    assert response.status_code == 415


def test_malformed_json_is_a_400(pipeline):
    response = pipeline.post(URL, "[{", content_type="application/json")
    assert response.status_code == 400


def test_an_oversized_body_is_a_413(pipeline):
    huge = [_event(event_id=f"e{i}", description="x" * 4000) for i in range(1100)]
    response = pipeline.post(URL, huge, format="json")
    assert response.status_code == 413
    assert response.json()["field"] == "body"


def test_an_executive_may_not_push(api_as, alice, fraud_scorer):
    assert api_as(alice).post(URL, _event(), format="json").status_code == 403


def test_a_token_pushes_only_for_its_own_teams_models(token_client, growth_team, fraud_scorer):
    response = token_client(growth_team).post(URL, _event(), format="json")
    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "model"
    assert not LifecycleChange.objects.exists()
