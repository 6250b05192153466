"""A dataset page lists versions that have no profile yet (declared, not uploaded)."""

from __future__ import annotations

from tests import factories


def test_the_dataset_page_shows_a_version_without_a_profile(client, dana, risk_team):
    dataset = factories.dataset_make("transactions", team=risk_team)
    factories.dataset_version_make(dataset, "1")
    client.force_login(dana)

    response = client.get("/data/transactions/")

    assert response.status_code == 200
    assert "no profile" in response.content.decode()


def test_a_missing_number_reads_unknown_wherever_a_template_asks():
    from lifecycle.dataprep.templatetags.dataprep_tags import num

    assert num("") == "unknown" and num(None) == "unknown" and num(1234) == "1,234"
