"""Registries reach into the network and hold secrets: their base URLs and poll errors are
shown to admins only, on the pages as in the API; and one is never deleted with its record."""

from __future__ import annotations

import pytest
from django.test import Client

from lifecycle.deployment.models import ChangeKind, Registry
from tests import factories
from tests.lifecycle.deployment.factories import change_make, registry_make

pytestmark = pytest.mark.django_db

SECRET_URL = "https://mlflow.corp-internal.example"
SECRET_ERROR = "connection refused by 10.0.4.17:5000"


@pytest.fixture
def failing(db, now):
    return registry_make(base_url=SECRET_URL, last_error_at=now, last_error=SECRET_ERROR)


def _page(user, url: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("who", ["alice", "bob", "dana"])
@pytest.mark.parametrize("url", ["/deployment/registries/", "/deployment/registries/mlflow-main/"])
def test_it_hides_registry_urls_and_errors_from_non_admins(request, failing, who, url):
    html = _page(request.getfixturevalue(who), url)
    assert SECRET_URL not in html and SECRET_ERROR not in html
    assert failing.name in html


@pytest.mark.parametrize("url", ["/deployment/registries/", "/deployment/registries/mlflow-main/"])
def test_an_admin_sees_registry_urls_and_errors(root, failing, url):
    html = _page(root, url)
    assert SECRET_URL in html and SECRET_ERROR in html


def test_it_refuses_to_delete_a_registry_whose_changes_are_in_the_ledger(api_as, root, failing):
    version = factories.version_make(factories.model_make("fraud-scorer"), "1")
    change_make(version, ChangeKind.REGISTERED, registry=failing)
    response = api_as(root).delete("/api/v1/registries/mlflow-main/")
    assert response.status_code == 409 and "enabled" in response.json()["detail"]
    assert Registry.objects.filter(name="mlflow-main").exists()
