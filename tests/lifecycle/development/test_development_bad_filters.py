"""A bad filter on a development page is a 400 that names the field, as in the API."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("window=2y", "window"),
        ("team=nobody", "team"),
        ("start=yesterday", "start"),
    ],
)
@pytest.mark.parametrize("page", ["/development/", "/development/models/fraud-scorer/"])
def test_it_refuses_a_bad_filter_with_a_400_naming_it(
    client, bob, fraud_scorer, page, query, field
):
    client.force_login(bob)
    response = client.get(f"{page}?{query}")
    assert response.status_code == 400
    assert f"<b>{field}</b>" in response.content.decode()


def test_the_api_refuses_a_bad_window_naming_it(api_as, bob, fraud_scorer):
    response = api_as(bob).get("/api/v1/training-runs/?window=2y")
    assert response.status_code == 400
    assert "window" in response.json()
