"""The deployment API (registries, ledger, KPIs) and pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from ingestion.rollups import rollups_rebuild
from lifecycle.deployment.models import ChangeKind, ChangeSource, Registry
from tests import factories
from tests.lifecycle.deployment.factories import change_make, registry_make

pytestmark = pytest.mark.django_db

NEW_REGISTRY = {
    "name": "mlflow-prod",
    "kind": "mlflow",
    "base_url": "https://mlflow.internal:5000/",
    "username": "svc",
    "secret": "s3cret-token",
    "webhook_secret": "hook-secret",
    "default_team": "risk",
    "default_industry": "payments",
    "poll_interval_minutes": 10,
}


@pytest.fixture
def allowed(settings):
    settings.KPIBOARD_REGISTRY_ALLOWED_HOSTS = ["mlflow.internal", "127.0.0.1"]


def test_an_admin_configures_a_registry_and_never_sees_its_secrets(
    api_as, root, fraud_scorer, allowed
):
    response = api_as(root).post("/api/v1/registries/", NEW_REGISTRY, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert "secret" not in body and "webhook_secret" not in body
    assert body["has_secret"] and body["has_webhook_secret"]
    assert "s3cret-token" not in response.content.decode()
    listed = api_as(root).get("/api/v1/registries/mlflow-prod/")
    assert "s3cret-token" not in listed.content.decode()
    assert Registry.objects.get().secret == "s3cret-token"
    assert Registry.objects.get().base_url == "https://mlflow.internal:5000"


@pytest.mark.parametrize("user", ["alice", "bob", "dana"])
def test_only_admins_see_or_change_registries(request, api_as, user, fraud_scorer, allowed):
    client = api_as(request.getfixturevalue(user))
    assert client.get("/api/v1/registries/").status_code == 403
    assert client.post("/api/v1/registries/", NEW_REGISTRY, format="json").status_code == 403


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://elsewhere.example:5000", "not in KPIBOARD_REGISTRY_ALLOWED_HOSTS"),
        ("ftp://mlflow.internal/models", "must start with http"),
        ("https://user:pw@mlflow.internal", "must not hold credentials"),
    ],
)
def test_a_registry_url_outside_the_operators_allow_list_is_a_400(
    api_as, root, fraud_scorer, allowed, url, reason
):
    response = api_as(root).post(
        "/api/v1/registries/", {**NEW_REGISTRY, "base_url": url}, format="json"
    )
    assert response.status_code == 400
    assert any(reason in message for message in response.json()["base_url"])


def test_the_ledger_lists_changes_with_their_uncertainty(api_as, alice, fraud_scorer, now):
    version = factories.version_make(fraud_scorer, "4")
    change_make(
        version,
        ChangeKind.ALIAS_SET,
        source=ChangeSource.POLL,
        key="champion",
        happened_after=now - timedelta(minutes=15),
        happened_before=now,
    )
    response = api_as(alice).get("/api/v1/lifecycle-changes/?kind=alias_set&model=fraud-scorer")
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["version"] == "4" and row["key"] == "champion"
    assert row["uncertainty_seconds"] == 900


def test_the_deployment_kpis_api_serves_every_deployment_kpi(api_as, alice, fraud_scorer, now):
    version = factories.version_make(fraud_scorer, "1", registered_at=now - timedelta(days=20))
    factories.deployment_make(version, started_at=now - timedelta(days=5))
    response = api_as(alice).get("/api/v1/kpis/deployment/?window=30d")
    assert response.status_code == 200, response.json()
    kpis = {k["id"]: k for k in response.json()["kpis"]}
    assert kpis["time_to_deploy_days_median"]["value"] == pytest.approx(15, abs=0.01)
    assert kpis["time_to_deploy_days_median"]["low"] is not None
    assert kpis["models_in_production"]["value"] == 1
    assert {
        "deployment_frequency_per_week",
        "change_failure_rate",
        "time_to_restore_hours_median",
        "rollbacks",
        "failed_deployments",
        "versions_in_shadow",
        "versions_in_canary",
        "new_models_deployed",
        "multi_model_endpoints",
        "lead_time_registered_to_promoted_days_median",
    } <= set(kpis)
    assert response.json()["time_to_deploy_by"]["team"][0]["team"] == "risk"


def test_a_bad_failure_horizon_is_a_400_naming_it(api_as, alice):
    response = api_as(alice).get("/api/v1/kpis/deployment/?failure_days=0")
    assert response.status_code == 400
    assert "failure_days" in response.json()


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_deployment_page_shows_kpis_with_their_bounds(alice, fraud_scorer, now):
    version = factories.version_make(fraud_scorer, "1", registered_at=now - timedelta(days=20))
    deployment = factories.deployment_make(version, started_at=now - timedelta(days=5))
    change_make(
        version,
        ChangeKind.DEPLOYED,
        source=ChangeSource.POLL,
        deployment=deployment,
        happened_after=deployment.started_at - timedelta(days=1),
        happened_before=deployment.started_at,
    )
    page = _logged_in(alice).get("/deployment/?window=30d")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-kpi="time_to_deploy_days_median"' in html
    assert "between 14.00 d and 15.00 d" in html
    assert "fraud-scorer" in html


def test_the_timeline_page_lists_registrations_deployments_and_incidents(alice, fraud_scorer, now):
    version = factories.version_make(fraud_scorer, "1", registered_at=now - timedelta(days=3))
    factories.deployment_make(version, started_at=now - timedelta(days=2))
    from lifecycle.catalog.models import ServingEvent

    hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
    ServingEvent.objects.bulk_create(
        [
            factories.event_build(
                version,
                timestamp=hour + timedelta(minutes=i),
                status="error",
                error_type="timeout",
                latency_ms=None,
            )
            for i in range(6)
        ]
    )
    rollups_rebuild()  # deployment reads serving numbers from the rollups
    page = _logged_in(alice).get("/deployment/models/fraud-scorer/timeline/?window=7d")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-kind="registered"' in html and 'data-kind="deployed"' in html
    assert 'data-kind="incident"' in html and "mostly timeout" in html


def test_a_failing_registry_shows_its_last_success_and_last_error(root, fraud_scorer, now):
    # Admins only: the error names hosts inside the network.
    registry = registry_make(base_url="http://127.0.0.1:9")
    registry.last_success_at = now - timedelta(hours=2)
    registry.last_error_at = now
    registry.last_error = "cannot connect to 127.0.0.1:9: Connection refused"
    registry.consecutive_failures = 3
    registry.save()
    listing = _logged_in(root).get("/deployment/registries/").content.decode()
    assert "Connection refused" in listing and 'class="failing"' in listing
    page = _logged_in(root).get("/deployment/registries/mlflow-main/").content.decode()
    assert "cannot connect to 127.0.0.1:9" in page
    assert registry.secret == "" or registry.secret not in page


def test_the_portfolio_shows_time_to_deploy_as_the_deployment_api_does(
    api_as, alice, fraud_scorer, now
):
    version = factories.version_make(fraud_scorer, "1", registered_at=now - timedelta(days=31))
    factories.deployment_make(version, started_at=now - timedelta(days=2))
    portfolio = api_as(alice).get("/api/v1/kpis/portfolio/?window=7d").json()
    deployment = api_as(alice).get("/api/v1/kpis/deployment/?window=7d").json()
    ours = {k["id"]: k["value"] for k in portfolio["kpis"]}
    theirs = {k["id"]: k["value"] for k in deployment["kpis"]}
    for kpi in ("time_to_deploy_days_median", "time_to_deploy_days_mean"):
        assert ours[kpi] == pytest.approx(29, abs=0.01)
        assert ours[kpi] == theirs[kpi]
    page = Client()
    page.force_login(alice)
    assert 'data-kpi="time_to_deploy_days_median"' in page.get("/?window=7d").content.decode()


def test_the_timeline_shows_a_catalog_rollback_and_the_end_of_the_replaced_deployment(
    alice, fraud_scorer, now
):
    old = factories.version_make(fraud_scorer, "1", registered_at=now - timedelta(days=6))
    new = factories.version_make(fraud_scorer, "2", registered_at=now - timedelta(days=4))
    factories.deployment_make(
        new, started_at=now - timedelta(days=3), ended_at=now - timedelta(days=1)
    )
    factories.deployment_make(old, started_at=now - timedelta(days=1))
    html = (
        _logged_in(alice)
        .get("/deployment/models/fraud-scorer/timeline/?window=7d")
        .content.decode()
    )
    assert 'data-kind="rolled_back"' in html and 'data-kind="undeployed"' in html


def test_the_admin_form_keeps_a_stored_secret_when_left_empty(root, fraud_scorer, allowed):
    client = _logged_in(root)
    registry = registry_make(base_url="https://mlflow.internal", secret="keep-me")
    form = client.get(f"/admin/deployment/registry/{registry.pk}/change/").content.decode()
    assert "keep-me" not in form
    data = {
        "name": registry.name,
        "kind": "mlflow",
        "base_url": "https://mlflow.internal",
        "username": "",
        "secret": "",
        "webhook_secret": "",
        "enabled": "on",
        "poll_interval_minutes": "5",
        "page_size": "1000",
        "default_team": registry.default_team_id,
        "default_industry": registry.default_industry_id,
        "default_serving_mode": "streaming",
        "alias_roles": '{"champion": "production"}',
        "production_stage": "Production",
    }
    response = client.post(f"/admin/deployment/registry/{registry.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    registry.refresh_from_db()
    assert registry.secret == "keep-me" and registry.poll_interval_minutes == 5


def test_an_mlops_engineer_cannot_open_registries_in_the_admin(bob, fraud_scorer):
    registry = registry_make()
    response = _logged_in(bob).get(f"/admin/deployment/registry/{registry.pk}/change/")
    assert response.status_code in (302, 403)
