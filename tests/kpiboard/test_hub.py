"""The model, version and endpoint pages and the search: what each phase knows of one
model, its numbers recomputed here from the raw rows."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.http import QueryDict
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone

from ingestion.rollups import rollups_rebuild
from kpiboard.hub import model_hub, search
from lifecycle.catalog.kpis import kpi_request_build
from lifecycle.catalog.models import ServingEvent
from lifecycle.development.models import TrainingRun
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet(fraud_scorer, recommender, now):
    """fraud-scorer: v1 retired from `scoring` 3 days ago for v2, v2 also on `shared`,
    where recommender serves too; v1 trained on transactions@1 (named by the version),
    v2 on transactions@2 (named only by its training run). Events: v1 for the first 4
    days of the week, v2 since, and 5 v2 events on `shared`, two of them failed."""
    scoring = factories.endpoint_make("scoring")
    shared = factories.endpoint_make("shared")
    v1 = factories.version_make(fraud_scorer, "1", registered_at=now - timedelta(days=50))
    v2 = factories.version_make(fraud_scorer, "2", registered_at=now - timedelta(days=10))
    reco = factories.version_make(recommender, "7")
    factories.deployment_make(
        v1, endpoint=scoring, started_at=now - timedelta(days=40), ended_at=now - timedelta(days=3)
    )
    factories.deployment_make(v2, endpoint=scoring, started_at=now - timedelta(days=3))
    factories.deployment_make(
        v2,
        endpoint=shared,
        role="canary",
        traffic_share="0.2",
        started_at=now - timedelta(days=2),
    )
    factories.deployment_make(
        reco, endpoint=shared, traffic_share="0.8", started_at=now - timedelta(days=20)
    )
    transactions = factories.dataset_make("transactions")
    first = factories.dataset_version_make(transactions, "1", created_at=now - timedelta(days=60))
    second = factories.dataset_version_make(transactions, "2", created_at=now - timedelta(days=12))
    v1.datasets.add(first)
    TrainingRun.objects.create(model_version=v2, run_id="run-b", dataset_version=second)
    TrainingRun.objects.create(model_version=v2, run_id="run-c")
    events = [
        factories.event_build(v1, endpoint=scoring, timestamp=now - timedelta(days=4, hours=i))
        for i in range(20)
    ]
    events += [
        factories.event_build(v2, endpoint=scoring, timestamp=now - timedelta(hours=i + 1))
        for i in range(30)
    ]
    events += [
        factories.event_build(
            v2,
            endpoint=shared,
            timestamp=now - timedelta(hours=i + 2),
            status="error" if i < 2 else "ok",
            error_type="timeout" if i < 2 else "",
            latency_ms=None if i < 2 else 30.0,
        )
        for i in range(5)
    ]
    events += [factories.event_build(reco, endpoint=shared) for _ in range(4)]
    ServingEvent.objects.bulk_create(events)
    rollups_rebuild()
    return {"v1": v1, "v2": v2, "scoring": scoring, "shared": shared, "events": events}


def _request(query: str):
    return kpi_request_build(query=QueryDict(query), now=timezone.now())


def _raw(events, **match):
    return [e for e in events if all(getattr(e, k) == v for k, v in match.items())]


def test_the_model_hub_composes_every_phase(fleet, fraud_scorer):
    hub = model_hub(model=fraud_scorer, request=_request("model=fraud-scorer&window=7d"))

    by_version = {row.version.version: row for row in hub.versions}
    assert list(by_version) == ["2", "1"], "newest version first"
    mine = [e for e in fleet["events"] if e.model_id == fraud_scorer.pk]
    for name, version in (("1", fleet["v1"]), ("2", fleet["v2"])):
        raw = _raw(mine, model_version=version)
        assert by_version[name].summary.inferences == len(raw)
        assert by_version[name].summary.errors == sum(e.status == "error" for e in raw)
    # v1's deployment ended before the window did; v2 serves on both endpoints.
    assert by_version["1"].serving == []
    assert sorted(d.endpoint.name for d in by_version["2"].serving) == ["scoring", "shared"]
    assert [str(d) for d in by_version["1"].datasets] == ["transactions@1"]
    assert [str(d) for d in by_version["2"].datasets] == ["transactions@2"]
    assert (by_version["1"].training_runs, by_version["2"].training_runs) == (0, 2)
    assert [d.name for d in hub.datasets] == ["transactions"]

    by_endpoint = {row.endpoint.name: row for row in hub.endpoints}
    assert by_endpoint["shared"].shared_with == ["recommender"]
    assert by_endpoint["scoring"].shared_with == []
    for name in ("scoring", "shared"):
        raw = _raw(mine, endpoint=fleet[name])
        assert by_endpoint[name].summary.inferences == len(raw)
    kpis = {k.definition.id: k.value for k in hub.overview.kpis}
    assert kpis["inferences"] == len(mine)


def test_the_model_page_links_its_versions_endpoints_and_datasets(fleet, fraud_scorer, client, bob):
    client.force_login(bob)
    page = client.get("/models/fraud-scorer/?window=30d&team=growth")

    assert page.status_code == 200
    html = page.content.decode()
    # Links keep the time range, not the filters that chose the page's subject.
    assert 'href="/models/fraud-scorer/versions/2/?window=30d"' in html
    assert 'href="/models/fraud-scorer/endpoints/shared/?window=30d"' in html
    assert 'href="/models/recommender/?window=30d"' in html
    assert 'href="/data/transactions/versions/2/"' in html
    assert 'href="/monitoring/models/fraud-scorer/?window=30d"' in html
    assert 'href="/?window=30d&amp;team=risk"' in html, "the breadcrumb opens the model's team"
    assert re.search(r'<span class="badge canary">canary 20.00%</span>', html)


def test_the_version_page_counts_that_version_only(fleet, fraud_scorer, client, bob):
    client.force_login(bob)
    page = client.get("/models/fraud-scorer/versions/2/?window=7d")

    assert page.status_code == 200
    kpis = {k.definition.id: k.value for k in page.context["hub"].health.kpis}
    raw = _raw(fleet["events"], model_version=fleet["v2"])
    assert kpis["inferences"] == len(raw) == 35
    assert kpis["error_rate"] == pytest.approx(2 / 35)
    assert [r.run_id for r in page.context["hub"].training_runs] == ["run-b", "run-c"]
    assert {d.endpoint.name for d in page.context["hub"].deployments} == {"scoring", "shared"}
    assert "Training runs" in page.content.decode()


def test_the_endpoint_page_shows_the_models_neighbours(fleet, fraud_scorer, client, bob):
    client.force_login(bob)
    page = client.get("/models/fraud-scorer/endpoints/shared/?window=7d")

    assert page.status_code == 200
    kpis = {k.definition.id: k.value for k in page.context["hub"].health.kpis}
    raw = _raw(fleet["events"], model_version=fleet["v2"], endpoint=fleet["shared"])
    assert kpis["inferences"] == len(raw) == 5
    models = [d.model_version.model.name for d in page.context["hub"].deployments]
    assert sorted(models) == ["fraud-scorer", "recommender"]
    assert 'class="other-model"' in page.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/models/nobody/",
        "/models/fraud-scorer/versions/99/",
        "/models/fraud-scorer/endpoints/nowhere/",
    ],
)
def test_an_unknown_subject_is_not_found(fleet, client, bob, path):
    client.force_login(bob)
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/models/fraud-scorer/",
        "/models/fraud-scorer/versions/2/",
        "/models/fraud-scorer/endpoints/shared/",
    ],
)
def test_a_bad_window_is_a_400_naming_it(fleet, client, bob, path):
    client.force_login(bob)
    page = client.get(path + "?window=3y")
    assert page.status_code == 400
    assert "window" in page.content.decode()


def test_search_finds_by_part_of_a_name_names_first_that_start_with_it(fleet):
    factories.model_make("card-fraud")
    found = search("FRAUD")
    assert [m.name for m in found.models] == ["fraud-scorer", "card-fraud"]
    assert found.datasets == [] and found.endpoints == []
    assert [e.name for e in search("shar").endpoints] == ["shared"]
    assert search("shar").endpoint_models[fleet["shared"].pk] == ["fraud-scorer", "recommender"]
    assert search("   ").total == 0


def test_an_exact_name_opens_its_page(fleet, client, bob):
    client.force_login(bob)
    assert client.get("/search/?q=fraud-scorer")["Location"] == "/models/fraud-scorer/"
    assert client.get("/search/?q=transactions")["Location"] == "/data/transactions/"
    listed = client.get("/search/?q=sc")
    assert listed.status_code == 200
    assert 'href="/models/fraud-scorer/"' in listed.content.decode()
    # A name two kinds of thing share lists both rather than guessing.
    factories.dataset_make("recommender")
    assert client.get("/search/?q=recommender").status_code == 200


def test_the_navigation_has_a_search_box(client, bob):
    client.force_login(bob)
    html = client.get("/").content.decode()
    assert 'action="/search/"' in html and 'name="q"' in html


def test_phase_pages_of_a_model_carry_its_breadcrumbs(fleet, client, bob):
    client.force_login(bob)
    for path, here in (
        ("/monitoring/models/fraud-scorer/?window=30d", "Health"),
        ("/development/models/fraud-scorer/?window=30d", "Development"),
        ("/deployment/models/fraud-scorer/timeline/?window=30d", "Deployment timeline"),
    ):
        html = client.get(path).content.decode()
        crumbs = html[
            html.index('class="breadcrumbs"') : html.index("</nav>", html.index("breadcrumbs"))
        ]
        assert 'href="/models/fraud-scorer/?window=30d"' in crumbs, path
        assert f'<span aria-current="page">{here}</span>' in crumbs, path


def test_time_query_keeps_the_time_range_only():
    request = RequestFactory().get("/", {"window": "30d", "team": "risk", "compare": "previous"})
    rendered = Template("{% load kpi_tags %}{% time_query request team='growth' %}").render(
        Context({"request": request})
    )
    assert QueryDict(rendered.lstrip("?").replace("&amp;", "&")) == QueryDict(
        "window=30d&compare=previous&team=growth"
    )
    empty = RequestFactory().get("/", {"model": "x"})
    assert (
        Template("{% load kpi_tags %}{% time_query request %}").render(Context({"request": empty}))
        == ""
    )


def test_the_navigation_keeps_the_portfolio_filters_not_a_pages_subject():
    request = RequestFactory().get(
        "/", {"window": "30d", "team": "risk", "version": "4", "endpoint": "e", "sort": "name"}
    )
    rendered = Template("{% load kpi_tags %}{% navigation_query request %}").render(
        Context({"request": request})
    )
    assert QueryDict(rendered.lstrip("?").replace("&amp;", "&")) == QueryDict(
        "window=30d&team=risk"
    )


def test_a_shadow_versions_copies_are_shown_apart_from_requests(fleet, fraud_scorer, now):
    scoring = fleet["scoring"]
    v3 = factories.version_make(fraud_scorer, "3", registered_at=now - timedelta(days=2))
    factories.deployment_make(
        v3, endpoint=scoring, role="shadow", traffic_share=0, started_at=now - timedelta(days=1)
    )
    copies = [
        factories.event_build(v3, endpoint=scoring, timestamp=now - timedelta(hours=i + 1))
        for i in range(6)
    ]
    ServingEvent.objects.bulk_create(copies)
    rollups_rebuild()

    hub = model_hub(model=fraud_scorer, request=_request("model=fraud-scorer&window=7d"))

    row = next(r for r in hub.versions if r.version == v3)
    assert (row.summary.inferences, row.shadow_copies) == (0, len(copies))
    on_scoring = next(r for r in hub.endpoints if r.endpoint == scoring)
    requests = _raw(fleet["events"], endpoint=scoring)
    assert (on_scoring.summary.inferences, on_scoring.shadow_copies) == (len(requests), 6)
