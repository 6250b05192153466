"""The development pages' controls: each narrows what the page lists, or is not there."""

from __future__ import annotations

import pytest

from tests import factories

pytestmark = pytest.mark.django_db


def test_the_versions_list_offers_no_window_it_would_ignore(client, bob, fraud_scorer):
    factories.version_make(fraud_scorer, "1")
    client.force_login(bob)
    html = client.get("/development/").content.decode()
    assert 'id="filter-bar"' in html and 'name="model"' in html
    assert 'name="window"' not in html


def test_a_models_runs_keep_their_window(client, bob, fraud_scorer):
    client.force_login(bob)
    html = client.get(f"/development/models/{fraud_scorer.name}/").content.decode()
    assert 'name="window"' in html
