"""Dataset uploads follow the one write rule: a team's token creates datasets for its own
team only."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from lifecycle.catalog.models import Dataset, Role
from tests.refusals import refused_fields

pytestmark = pytest.mark.django_db
URL = "/api/v1/datasets/{}/versions/"
CSV = b"amount,merchant\n1,shop\n2,fuel\n"


def _upload(client, name: str, **fields):
    return client.post(
        URL.format(name), {"file": SimpleUploadedFile("d.csv", CSV), **fields}, format="multipart"
    )


def test_it_refuses_a_token_creating_a_dataset_owned_by_another_team(
    token_client, growth_team, risk_team
):
    response = _upload(token_client(growth_team, Role.DATA_TEAM), "claims", team="risk")
    assert response.status_code == 403 and "team" in refused_fields(response)
    assert not Dataset.objects.filter(name="claims").exists()


def test_a_token_creates_a_dataset_for_its_own_team_and_an_admin_for_any(
    token_client, growth_team, risk_team
):
    own = _upload(token_client(growth_team, Role.DATA_TEAM), "claims", team="growth")
    assert own.status_code == 201, own.json()
    other = _upload(token_client(growth_team, Role.ADMIN), "ledger", team="risk")
    assert other.status_code == 201, other.json()
    assert Dataset.objects.get(name="ledger").team == risk_team
