"""A bad filter on a data preparation page is a 400 that names the field, as in the API."""

from __future__ import annotations

import pytest

from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(risk_team):
    factories.dataset_version_make(factories.dataset_make(team=risk_team), "1")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("window=2y", "window"),
        ("model=nothing", "model"),
        ("serving_mode=sometimes", "serving_mode"),
    ],
)
@pytest.mark.parametrize(
    "page",
    ["/data/", "/data/transactions/", "/data/transactions/diff/", "/data/transactions/versions/1/"],
)
def test_it_refuses_a_bad_filter_with_a_400_naming_it(client, dana, dataset, page, query, field):
    client.force_login(dana)
    response = client.get(f"{page}?{query}")
    assert response.status_code == 400
    assert f"<b>{field}</b>" in response.content.decode()


def test_a_good_filter_still_answers_200(client, dana, dataset):
    client.force_login(dana)
    assert client.get("/data/?window=30d&team=risk").status_code == 200


def test_the_api_refuses_a_bad_window_naming_it(api_as, dana, dataset):
    response = api_as(dana).get("/api/v1/datasets/?window=2y")
    assert response.status_code == 400
    assert "window" in response.json()
