"""POST /api/v1/registry-events/: registries kpiboard does not poll push their changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from lifecycle.catalog.models import Deployment, ModelVersion, Role
from lifecycle.deployment.models import ChangeKind, LifecycleChange
from tests import factories
from tests.refusals import refused_fields

pytestmark = pytest.mark.django_db
URL = "/api/v1/registry-events/"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def ago(now):
    """ago(days, hours=0) -> that long before `now`."""
    return lambda days, hours=0: now - timedelta(days=days, hours=hours)


@pytest.fixture
def event(ago):
    """event(**fields) -> a registry event as a dict, registered nine days ago."""

    def make(**fields):
        base = {
            "event_id": "evt-1",
            "event": "registered",
            "timestamp": _iso(ago(9)),
            "model": "fraud-scorer",
            "version": "7",
        }
        return {**base, **fields}

    return make


@pytest.fixture
def scoring(db):
    return factories.endpoint_make("scoring")


@pytest.fixture
def pipeline(token_client, risk_team, fraud_scorer, scoring):
    """The risk team's CI pipeline, pushing with an MLOps token."""
    return token_client(risk_team, Role.MLOPS)


def test_a_pipeline_registers_promotes_and_deploys_a_version_at_exact_times(pipeline, event, ago):
    registered_at, run_ended_at, promoted_at = ago(9), ago(11, hours=2), ago(7, hours=1)
    # The promotion is sent in another zone: it is stored as the same instant.
    promoted_in_paris = promoted_at.astimezone(timezone(timedelta(hours=1))).isoformat()
    response = pipeline.post(
        URL,
        [
            event(run_id="run-9", run_ended_at=_iso(run_ended_at), registry="sagemaker"),
            event(event_id="evt-2", event="promoted", timestamp=promoted_in_paris),
            event(event_id="evt-3", event="deployed", timestamp=_iso(ago(6)), endpoint="scoring"),
        ],
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {"accepted": 3, "repeats": 0}
    version = ModelVersion.objects.get(model__name="fraud-scorer", version="7")
    assert version.registered_at == registered_at
    assert version.run_id == "run-9"
    promoted = LifecycleChange.objects.get(kind=ChangeKind.PROMOTED)
    assert promoted.is_exact and promoted.role == "production"
    assert promoted.happened_before == promoted_at
    deployed = LifecycleChange.objects.get(kind=ChangeKind.DEPLOYED)
    assert deployed.deployment.role == "production"
    assert deployed.deployment.traffic_share == 1
    assert deployed.deployment.started_at == deployed.happened_before
    registered = LifecycleChange.objects.get(kind=ChangeKind.REGISTERED)
    assert datetime.fromisoformat(registered.detail["run_ended_at"]) == run_ended_at
    assert registered.detail["registry"] == "sagemaker"


def test_a_retried_batch_is_counted_once(pipeline, event):
    batch = {"events": [event(), event(event_id="evt-2", event="promoted")]}
    assert pipeline.post(URL, batch, format="json").json() == {"accepted": 2, "repeats": 0}
    assert pipeline.post(URL, batch, format="json").json() == {"accepted": 0, "repeats": 2}
    assert LifecycleChange.objects.count() == 2


def test_a_rollback_replaces_the_newer_production_version(
    pipeline, fraud_scorer, scoring, event, ago
):
    old = factories.version_make(fraud_scorer, "1", registered_at=ago(60))
    new = factories.version_make(fraud_scorer, "2", registered_at=ago(29))
    factories.deployment_make(old, endpoint=scoring, started_at=ago(56))
    pipeline.post(
        URL,
        [
            event(
                event_id="d2",
                event="deployed",
                version="2",
                endpoint="scoring",
                timestamp=_iso(ago(25)),
            ),
            event(
                event_id="rb",
                event="rolled_back",
                version="1",
                endpoint="scoring",
                timestamp=_iso(ago(24)),
            ),
        ],
        format="json",
    )
    serving = Deployment.objects.filter(ended_at__isnull=True).get()
    assert serving.model_version == old
    replaced = Deployment.objects.get(model_version=new)
    assert replaced.ended_at == serving.started_at
    assert LifecycleChange.objects.get(kind=ChangeKind.ROLLED_BACK).deployment == serving


def test_a_failed_deployment_and_an_archive_are_recorded(
    pipeline, fraud_scorer, scoring, event, ago
):
    version = factories.version_make(fraud_scorer, "3", registered_at=ago(60))
    deployment = factories.deployment_make(version, endpoint=scoring, started_at=ago(30))
    archived_at = ago(2)
    response = pipeline.post(
        URL,
        [
            event(
                event_id="f",
                event="deployed",
                version="3",
                endpoint="scoring",
                outcome="failed",
                reason="permissions",
                role="canary",
                timestamp=_iso(ago(3)),
            ),
            event(event_id="a", event="archived", version="3", timestamp=_iso(archived_at)),
        ],
        format="json",
    )
    assert response.status_code == 200, response.json()
    failed = LifecycleChange.objects.get(kind=ChangeKind.DEPLOYMENT_FAILED)
    assert failed.detail["reason"] == "permissions" and failed.deployment is None
    deployment.refresh_from_db()
    assert deployment.ended_at == archived_at


@pytest.mark.parametrize(
    ("bad_fields", "field", "reason"),
    [
        ({"event_id": None}, "event_id", "is required"),
        ({"event": "shipped"}, "event", "must be one of"),
        # Refused by the parser before any clock is read: a fixed date may stay.
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
def test_a_bad_event_is_a_400_naming_the_field_and_reason(
    pipeline, event, bad_fields, field, reason
):
    good = event(event_id="good", version="1")
    bad = {k: v for k, v in event(**bad_fields).items() if v is not None}
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


def test_an_oversized_body_is_a_413(pipeline, event):
    huge = [event(event_id=f"e{i}", description="x" * 4000) for i in range(1100)]
    response = pipeline.post(URL, huge, format="json")
    assert response.status_code == 413
    assert "body" in refused_fields(response)


def test_an_executive_may_not_push(api_as, alice, fraud_scorer, event):
    assert api_as(alice).post(URL, event(), format="json").status_code == 403


def test_a_token_pushes_only_for_its_own_teams_models(
    token_client, growth_team, fraud_scorer, event
):
    response = token_client(growth_team).post(URL, event(), format="json")
    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "model"
    assert not LifecycleChange.objects.exists()
