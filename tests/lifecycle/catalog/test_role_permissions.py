"""The permissions each role's group holds, after migrate, against the table written out
here by hand; and what an MLOps engineer may not do in the admin."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.test import Client

from lifecycle.catalog.models import ApiToken, Role
from lifecycle.catalog.tokens import api_token_create
from lifecycle.deployment.models import Registry

pytestmark = pytest.mark.django_db

_VIEW_ALL = [
    "catalog.view_dataset",
    "catalog.view_datasetversion",
    "catalog.view_deployment",
    "catalog.view_endpoint",
    "catalog.view_industry",
    "catalog.view_label",
    "catalog.view_latencyrollup",
    "catalog.view_lifecyclemetric",
    "catalog.view_modelversion",
    "catalog.view_registeredmodel",
    "catalog.view_servingevent",
    "catalog.view_servingrollup",
    "catalog.view_team",
    "catalog.view_uptimerollup",
    "dataprep.view_datasetprofile",
    "deployment.view_lifecyclechange",
    "development.view_trainingrun",
    "monitoring.view_incident",
]
_WRITABLE_BY_MLOPS = [
    "catalog.dataset",
    "catalog.datasetversion",
    "catalog.deployment",
    "catalog.endpoint",
    "catalog.industry",
    "catalog.label",
    "catalog.lifecyclemetric",
    "catalog.modelversion",
    "catalog.registeredmodel",
    "catalog.servingevent",
    "catalog.team",
    "dataprep.datasetprofile",
    "development.trainingrun",
    "monitoring.incident",
]

EXPECTED = {
    "Executive": sorted(_VIEW_ALL),
    "Data team": sorted(
        [
            *_VIEW_ALL,
            "catalog.add_dataset",
            "catalog.change_dataset",
            "catalog.add_datasetversion",
            "catalog.change_datasetversion",
        ]
    ),
    "MLOps engineer": sorted(
        {
            *_VIEW_ALL,
            "catalog.view_apitoken",
            "catalog.view_workerheartbeat",
            *(
                f"{name.split('.')[0]}.{action}_{name.split('.')[1]}"
                for name in _WRITABLE_BY_MLOPS
                for action in ("add", "change", "delete")
            ),
        }
    ),
}

_PROJECT_APPS = ("catalog", "dataprep", "development", "deployment", "monitoring", "ingestion")


def _listed(group_name: str) -> list[str]:
    group = Group.objects.get(name=group_name)
    return sorted(
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
    )


@pytest.mark.parametrize("group_name", sorted(EXPECTED))
def test_each_group_holds_exactly_the_permissions_of_its_role(group_name):
    assert _listed(group_name) == EXPECTED[group_name]


def test_admins_hold_every_permission_of_the_project_of_users_and_of_login_throttling():
    every = sorted(
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.filter(
            content_type__app_label__in=(*_PROJECT_APPS, "auth", "axes")
        ).select_related("content_type")
    )
    # So a model added to a project app without a line in the role table fails here.
    assert _listed("Admin") == every


def test_the_next_migrate_takes_back_a_grant_the_table_does_not_give():
    mlops = Group.objects.get(name=Role.MLOPS.label)
    mlops.permissions.add(
        Permission.objects.get(codename="add_apitoken"),
        Permission.objects.get(codename="change_registry"),
    )
    call_command("migrate", verbosity=0, interactive=False)
    assert _listed("MLOps engineer") == EXPECTED["MLOps engineer"]


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_mlops_engineer_cannot_mint_an_admin_token_in_the_admin(bob, risk_team):
    response = _logged_in(bob).post(
        "/admin/catalog/apitoken/add/",
        {"team": risk_team.pk, "role": Role.ADMIN, "name": "mine now"},
    )
    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_an_mlops_engineer_cannot_change_or_delete_a_token_in_the_admin(bob, risk_team):
    token, _ = api_token_create(team=risk_team, role=Role.EXECUTIVE)
    client = _logged_in(bob)
    changed = client.post(
        f"/admin/catalog/apitoken/{token.pk}/change/",
        {"team": risk_team.pk, "role": Role.ADMIN, "name": "promoted"},
    )
    deleted = client.post(f"/admin/catalog/apitoken/{token.pk}/delete/", {"post": "yes"})
    assert changed.status_code == 403 and deleted.status_code == 403
    token.refresh_from_db()
    assert token.role == Role.EXECUTIVE


def test_an_mlops_engineer_cannot_add_a_registry_in_the_admin(bob, risk_team):
    response = _logged_in(bob).post(
        "/admin/deployment/registry/add/",
        {"name": "mine", "kind": "mlflow", "base_url": "https://mlflow.internal"},
    )
    assert response.status_code == 403
    assert not Registry.objects.exists()


def test_an_admin_mints_a_token_in_the_admin(root, risk_team):
    response = _logged_in(root).post(
        "/admin/catalog/apitoken/add/",
        {"team": risk_team.pk, "role": Role.ADMIN, "name": "ci"},
    )
    assert response.status_code == 302
    assert ApiToken.objects.get().role == Role.ADMIN
