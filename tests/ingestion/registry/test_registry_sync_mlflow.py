"""The registry sync against a real MLflow server, driven through MLflow's own client."""

from __future__ import annotations

import pytest
from django.utils import timezone

from ingestion.registry.mlflow import ms_to_datetime
from ingestion.registry.sync import registry_sync
from lifecycle.catalog.models import Deployment, LifecycleMetric, ModelVersion, RegisteredModel
from lifecycle.deployment.models import ChangeKind, LifecycleChange, RegistryVersionState
from tests import factories
from tests.lifecycle.deployment.factories import registry_make

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.mlflow,
    pytest.mark.usefixtures("registry_hosts_allowed"),
]


def _trained_run(client, experiment: str, auc: float) -> str:
    experiment_id = client.create_experiment(experiment)
    run = client.create_run(experiment_id)
    client.log_metric(run.info.run_id, "auc", auc)
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def _version(client, name: str, run_id: str):
    return client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)


# Stages are deprecated in MLflow but still served, and still read by the sync.
@pytest.mark.filterwarnings("ignore:.*transition_model_version_stage.*:FutureWarning")
def test_a_first_sync_records_versions_aliases_stages_tags_and_run_metrics(
    shared_mlflow_server, risk_team
):
    client = shared_mlflow_server.client()
    run_id = _trained_run(client, "first-sync", auc=0.91)
    client.create_registered_model("churn", tags={"kpiboard.team": "risk"})
    v1 = _version(client, "churn", run_id)
    _version(client, "churn", run_id)
    client.set_registered_model_alias("churn", "champion", "1")
    client.set_model_version_tag("churn", "2", "owner", "ana")
    client.transition_model_version_stage("churn", "1", "Production")
    registry = registry_make(base_url=shared_mlflow_server.url, default_team=risk_team)

    before = timezone.now()
    report = registry_sync(registry_id=registry.pk)
    after = timezone.now()

    assert report.ok, report.error
    model = RegisteredModel.objects.get(name="churn")
    assert model.team == risk_team
    first = ModelVersion.objects.get(model=model, version="1")
    assert first.registered_at == ms_to_datetime(v1.creation_timestamp)
    assert first.run_id == run_id
    assert ModelVersion.objects.filter(model=model).count() == 2

    changes = LifecycleChange.objects.filter(model=model)
    registered = changes.filter(kind=ChangeKind.REGISTERED, model_version=first).get()
    assert registered.is_exact and registered.happened_before == first.registered_at
    champion = changes.get(kind=ChangeKind.ALIAS_SET, key="champion")
    assert champion.model_version == first and champion.role == "production"
    # Set at some moment after the version existed and before the sync read it.
    assert champion.happened_after == first.registered_at
    assert before <= champion.happened_before <= after
    stage = changes.get(kind=ChangeKind.STAGE_CHANGED)
    assert (stage.old_value, stage.new_value, stage.role) == ("None", "Production", "production")
    assert stage.happened_after <= stage.happened_before <= after
    tag = changes.get(kind=ChangeKind.TAG_SET)
    assert (tag.model_version.version, tag.key, tag.new_value) == ("2", "owner", "ana")

    auc = LifecycleMetric.objects.filter(model_version=first, name="auc").get()
    assert auc.value == pytest.approx(0.91)
    assert auc.phase == "development" and auc.dimensions["run_id"] == run_id
    # No endpoint is configured, so aliases alone deploy nothing.
    assert not Deployment.objects.filter(model_version__model=model).exists()


def test_a_second_sync_records_only_what_changed_within_the_interval_it_happened_in(
    shared_mlflow_server, risk_team
):
    client = shared_mlflow_server.client()
    run_id = _trained_run(client, "second-sync", auc=0.8)
    client.create_registered_model("ranker", tags={"kpiboard.team": "risk"})
    _version(client, "ranker", run_id)
    _version(client, "ranker", run_id)
    client.set_registered_model_alias("ranker", "champion", "1")
    registry = registry_make(base_url=shared_mlflow_server.url, default_team=risk_team)
    assert registry_sync(registry_id=registry.pk).ok
    registry.refresh_from_db()
    first_poll_started = registry.last_success_started_at
    recorded = LifecycleChange.objects.count()

    # Nothing changed: nothing is recorded.
    assert registry_sync(registry_id=registry.pk).ok
    assert LifecycleChange.objects.count() == recorded

    change_started = timezone.now()
    client.set_registered_model_alias("ranker", "champion", "2")
    change_ended = timezone.now()
    assert registry_sync(registry_id=registry.pk).ok

    new = LifecycleChange.objects.filter(model__name="ranker", pk__gt=0).order_by("pk")
    moved = new.get(kind=ChangeKind.ALIAS_SET, key="champion", model_version__version="2")
    left = new.get(kind=ChangeKind.ALIAS_REMOVED, key="champion", model_version__version="1")
    for change in (moved, left):
        # The true moment lies inside the recorded interval, which starts no earlier than
        # the previous poll.
        assert change.happened_after <= change_started
        assert change.happened_before >= change_ended
        assert change.happened_after >= first_poll_started
    assert LifecycleChange.objects.count() == recorded + 2
    state = RegistryVersionState.objects.get(registry=registry, model_name="ranker", version="2")
    assert state.aliases == ["champion"]


def test_aliases_drive_deployments_on_the_configured_endpoint_and_a_move_back_is_a_rollback(
    shared_mlflow_server, risk_team
):
    client = shared_mlflow_server.client()
    run_id = _trained_run(client, "deployments", auc=0.7)
    client.create_registered_model("pricing", tags={"kpiboard.team": "risk"})
    for _ in range(2):
        _version(client, "pricing", run_id)
    client.set_registered_model_alias("pricing", "champion", "1")
    client.set_registered_model_alias("pricing", "challenger", "2")
    endpoint = factories.endpoint_make("pricing-endpoint")
    registry = registry_make(
        base_url=shared_mlflow_server.url, default_team=risk_team, deploy_endpoint=endpoint
    )
    assert registry_sync(registry_id=registry.pk).ok
    deployments = Deployment.objects.filter(model_version__model__name="pricing")
    active = {(d.model_version.version, d.role) for d in deployments.filter(ended_at=None)}
    assert active == {("1", "production"), ("2", "shadow")}

    client.delete_registered_model_alias("pricing", "challenger")
    client.set_registered_model_alias("pricing", "champion", "2")
    assert registry_sync(registry_id=registry.pk).ok
    active = {(d.model_version.version, d.role) for d in deployments.filter(ended_at=None)}
    assert active == {("2", "production")}
    changes = LifecycleChange.objects.filter(model__name="pricing")
    promoted = changes.get(kind=ChangeKind.DEPLOYED, model_version__version="2", role="production")
    old = deployments.get(model_version__version="1")
    assert old.ended_at == promoted.deployment.started_at == promoted.happened_before

    client.set_registered_model_alias("pricing", "champion", "1")
    assert registry_sync(registry_id=registry.pk).ok
    rollback = changes.get(kind=ChangeKind.ROLLED_BACK)
    assert rollback.model_version.version == "1"
    assert rollback.deployment.role == "production" and rollback.deployment.ended_at is None
