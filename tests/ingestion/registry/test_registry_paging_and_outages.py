"""Paging past 1,000 versions, and registries that fail, against real MLflow servers."""

from __future__ import annotations

import json
import re
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.utils import timezone

from ingestion.registry.sync import registry_sync
from ingestion.registry.tasks import registries_poll_due
from lifecycle.catalog.models import ModelVersion
from lifecycle.deployment.models import (
    ChangeKind,
    LifecycleChange,
    Registry,
    RegistryVersionState,
)
from tests.lifecycle.deployment.factories import registry_make

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.mlflow,
    pytest.mark.usefixtures("registry_hosts_allowed"),
]


def _rest_post(base_url: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{base_url}/api/2.0/mlflow/{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def _versions_create(server, name: str, count: int) -> str:
    """`count` versions of a new model through the REST API: the client's
    create_model_version waits on each one, which makes thousands slow."""
    client = server.client()
    run = client.create_run(client.create_experiment(f"{name}-training"))
    client.set_terminated(run.info.run_id)
    client.create_registered_model(name)
    body = {"name": name, "source": f"runs:/{run.info.run_id}/model", "run_id": run.info.run_id}
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(
            pool.map(lambda _: _rest_post(server.url, "model-versions/create", body), range(count))
        )
    return run.info.run_id


def test_a_sync_pages_past_a_thousand_versions_and_records_each_once(mlflow_server):
    server = mlflow_server()
    _versions_create(server, "bulk", 1_050)
    server.client().set_registered_model_alias("bulk", "champion", "1037")
    registry = registry_make(base_url=server.url, page_size=1000)
    pages = []

    report = registry_sync(
        registry_id=registry.pk, on_page=lambda path, page: pages.append((path, page))
    )

    assert report.ok, report.error
    assert ("model-versions/search", 2) in pages
    assert ModelVersion.objects.filter(model__name="bulk").count() == 1_050
    registered = LifecycleChange.objects.filter(kind=ChangeKind.REGISTERED, model__name="bulk")
    assert registered.count() == 1_050
    assert registered.values("model_version").distinct().count() == 1_050
    champion = LifecycleChange.objects.get(kind=ChangeKind.ALIAS_SET, key="champion")
    assert champion.model_version.version == "1037"  # an alias on the second page

    # A second pass over the same 1,050 versions finds nothing new.
    again = registry_sync(registry_id=registry.pk)
    assert again.ok and again.new_versions == 0 and again.changes == 0


def test_a_registry_that_goes_down_mid_sync_records_nothing_and_says_why(mlflow_server):
    server = mlflow_server()
    _versions_create(server, "flaky", 7)
    registry = registry_make(base_url=server.url, page_size=3)
    assert registry_sync(registry_id=registry.pk).ok
    recorded = LifecycleChange.objects.count()
    states = list(RegistryVersionState.objects.values_list("version", "aliases"))

    client = server.client()
    client.set_registered_model_alias("flaky", "champion", "6")

    def kill_after_first_page(path: str, page: int) -> None:
        if path == "model-versions/search" and page == 1:
            server.kill()

    failed_at = timezone.now()
    report = registry_sync(registry_id=registry.pk, on_page=kill_after_first_page)

    assert not report.ok
    # Killed between pages, the server either refuses the next connection or resets one
    # the kernel had already accepted for it: both name the registry's address.
    assert re.search(rf"(cannot connect to|connection to) 127\.0\.0\.1:{server.port}", report.error)
    # Nothing of the half-read poll is written.
    assert LifecycleChange.objects.count() == recorded
    assert list(RegistryVersionState.objects.values_list("version", "aliases")) == states
    registry.refresh_from_db()
    assert registry.consecutive_failures == 1
    assert registry.last_error == report.error and registry.last_error_at >= failed_at
    assert registry.last_success_at < failed_at
    # Retried a minute later, not at the next regular poll.
    assert registry.next_poll_at - registry.last_error_at == timedelta(minutes=1)

    # A second failure doubles the wait.
    assert not registry_sync(registry_id=registry.pk).ok
    registry.refresh_from_db()
    assert registry.next_poll_at - registry.last_error_at == timedelta(minutes=2)

    server.start()
    report = registry_sync(registry_id=registry.pk)
    assert report.ok, report.error
    registry.refresh_from_db()
    assert registry.consecutive_failures == 0 and registry.last_success_at > failed_at
    moved = LifecycleChange.objects.get(kind=ChangeKind.ALIAS_SET, key="champion")
    assert moved.model_version.version == "6"


def test_a_failing_registry_does_not_stop_the_others_from_being_polled(mlflow_server):
    server = mlflow_server()
    _versions_create(server, "healthy", 2)
    healthy = registry_make("healthy", base_url=server.url)
    # Nothing listens on the loopback discard port: connecting is refused at once.
    dead = registry_make("dead", base_url="http://127.0.0.1:9")
    # A host the operator did not allow is never contacted at all.
    not_allowed = registry_make("elsewhere", base_url="http://mlflow.example.invalid:5000")

    assert registries_poll_due() == 3

    healthy.refresh_from_db()
    dead.refresh_from_db()
    not_allowed.refresh_from_db()
    assert healthy.last_success_at is not None and healthy.consecutive_failures == 0
    assert ModelVersion.objects.filter(model__name="healthy").count() == 2
    assert dead.consecutive_failures == 1 and "cannot connect to 127.0.0.1:9" in dead.last_error
    assert "not in KPIBOARD_REGISTRY_ALLOWED_HOSTS" in not_allowed.last_error
    # Not due again until their next poll (or retry).
    assert registries_poll_due() == 0
    assert Registry.objects.filter(next_poll_at__gt=timezone.now()).count() == 3
