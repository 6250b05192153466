"""The data team page, the dataset version page and the diff page."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from ingestion.profiling.service import VersionTarget, dataset_file_upload
from lifecycle.catalog.models import Dataset
from lifecycle.dataprep.filtersets import DatasetFilterSet
from lifecycle.dataprep.kpis import dataset_rows
from tests import factories


def _store(tmp_path: Path, dataset: str, team, frame: pd.DataFrame, version: str | None = None):
    path = tmp_path / f"{dataset}-{version}.csv"
    frame.to_csv(path, index=False)
    return dataset_file_upload(
        target=VersionTarget(dataset=dataset, version=version, team=team, uploaded_by="dana"),
        path=path,
        file_name=path.name,
    )


@pytest.fixture
def two_versions(tmp_path, risk_team, now):
    base = pd.DataFrame(
        {
            "at": [(now - timedelta(days=3, hours=i)).isoformat() for i in range(200)][::-1],
            "amount": [float(i % 17) for i in range(200)],
            "channel": ["web", "app"] * 100,
        }
    )
    new = base.drop(columns=["channel"]).assign(amount=base["amount"] + 50)
    _store(tmp_path, "transactions", risk_team, base, "1")
    _store(tmp_path, "transactions", risk_team, new, "2")


def test_the_data_team_page_lists_datasets_with_freshness(client, dana, two_versions, now):
    client.force_login(dana)
    response = client.get("/data/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-dataset="transactions"' in html
    assert 'id="upload-form"' in html  # dana may upload
    row = dataset_rows(Dataset.objects.all(), now=now)[0]
    assert row.versions == 2
    assert row.record_age_days == pytest.approx(3.0, abs=0.01)
    assert row.completeness_pct == 100.0


def test_an_executive_sees_no_upload_form(client, alice, two_versions):
    client.force_login(alice)
    assert 'id="upload-form"' not in client.get("/data/").content.decode()


def test_the_team_filter_narrows_the_datasets(tmp_path, risk_team, growth_team, db):
    factories.dataset_make("transactions", team=risk_team)
    factories.dataset_make("clicks", team=growth_team)
    filterset = DatasetFilterSet({"team": "growth"}, queryset=Dataset.objects.all())
    assert [d.name for d in filterset.qs] == ["clicks"]


def test_the_model_filter_selects_datasets_a_model_was_trained_on(
    risk_team, fraud_scorer, recommender
):
    used = factories.dataset_version_make(factories.dataset_make("transactions", team=risk_team))
    factories.dataset_make("clicks", team=risk_team)
    factories.version_make(fraud_scorer).datasets.add(used)
    filterset = DatasetFilterSet({"model": "fraud-scorer"}, queryset=Dataset.objects.all())
    assert [d.name for d in filterset.qs] == ["transactions"]
    filterset = DatasetFilterSet({"model": "recommender"}, queryset=Dataset.objects.all())
    assert list(filterset.qs) == []


def test_the_version_page_draws_the_profile(client, dana, two_versions):
    client.force_login(dana)
    response = client.get("/data/transactions/versions/1/")
    assert response.status_code == 200
    html = response.content.decode()
    figures = re.findall(r'<script type="application/json" id="(figure-[\w-]+)">', html)
    assert {"figure-kinds", "figure-missing"} <= set(figures)
    # amount's histogram and channel's top values (a datetime column has no chart)
    assert [f for f in figures if f.startswith("figure-column-")] == [
        "figure-column-2",
        "figure-column-3",
    ]
    assert 'data-kpi="dataset_augmented_pct"' in html
    augmented_tile = html.split('data-kpi="dataset_augmented_pct"')[1].split("</div></div>")[0]
    assert "unknown" in augmented_tile  # not "0"
    assert "yes: at every 3,600 s" in html


def test_the_diff_page_flags_the_schema_change_and_the_shift(client, dana, two_versions):
    client.force_login(dana)
    response = client.get("/data/transactions/diff/?base=1&new=2")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="schema-alert"' in html
    assert re.search(r'data-column="channel" class="flagged">.*?removed', html, re.S)
    assert re.search(r'data-column="amount" class="flagged">', html)
    assert not re.search(r'data-column="at" class="flagged">', html)


def test_the_diff_page_refuses_a_version_it_cannot_compare_instead_of_another(
    client, dana, two_versions
):
    # Version 3 exists without a profile; 9 does not exist. Neither is swapped for 1 or 2.
    factories.dataset_version_make(Dataset.objects.get(name="transactions"), "3")
    client.force_login(dana)
    for query, field in (("base=3&new=2", "base"), ("base=1&new=9", "new")):
        response = client.get(f"/data/transactions/diff/?{query}")
        assert response.status_code == 400, query
        html = response.content.decode()
        assert f"<b>{field}</b>: transactions has no profiled version" in html
        assert 'id="diff-table"' not in html


def test_the_diff_api_answers_per_column(api_as, dana, two_versions):
    body = api_as(dana).get("/api/v1/datasets/transactions/diff/?base=1&new=2").json()
    assert body["schema_changed"] is True
    columns = {c["name"]: c for c in body["columns"]}
    assert columns["channel"]["schema_change"] == "removed"
    assert columns["amount"]["flagged"] and columns["amount"]["test"] == "ks"
    json.dumps(body)  # plain JSON all the way down


def test_the_diff_api_names_an_unknown_version(api_as, dana, two_versions):
    response = api_as(dana).get("/api/v1/datasets/transactions/diff/?base=1&new=9")
    assert response.status_code == 400 and "new" in response.json()


def test_the_dataset_list_api_carries_the_freshness_kpis(api_as, alice, two_versions):
    body = api_as(alice).get("/api/v1/datasets/?team=risk").json()
    (dataset,) = body["datasets"]
    kpis = {k["id"]: k for k in dataset["kpis"]}
    assert kpis["dataset_record_age_days"]["value"] == pytest.approx(3.0, abs=0.01)
    assert kpis["dataset_record_age_days"]["phase"] == "dataprep"


def test_the_data_pages_offer_only_the_controls_that_narrow_them(client, dana, two_versions):
    client.force_login(dana)
    index = client.get("/data/").content.decode()
    assert 'id="filter-bar"' in index and 'name="window"' not in index
    for page in (
        "/data/transactions/",
        "/data/transactions/versions/1/",
        "/data/transactions/diff/?base=1&new=2",
    ):
        response = client.get(page)
        assert response.status_code == 200, page
        assert 'id="filter-bar"' not in response.content.decode(), page
