from datetime import timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from ingestion.rollups import rollups_rebuild
from kpiboard.portfolio import portfolio_overview
from lifecycle.catalog.kpis import KpiRequestError, kpi_request_build
from lifecycle.catalog.models import ServingEvent
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def portfolio(fraud_scorer, recommender, now):
    """fraud-scorer in production with 40 recent events (4 errors); recommender's only
    production deployment ended 60 days ago, with 10 recent events."""
    fraud_v1 = factories.version_make(fraud_scorer)
    reco_v1 = factories.version_make(recommender)
    factories.deployment_make(fraud_v1, started_at=now - timedelta(days=40))
    factories.deployment_make(
        reco_v1,
        endpoint=factories.endpoint_make("batch-jobs"),
        started_at=now - timedelta(days=90),
        ended_at=now - timedelta(days=60),
    )
    events = [
        factories.event_build(
            fraud_v1,
            timestamp=now - timedelta(hours=i + 1),
            latency_ms=float(10 + i),
            status="error" if i % 10 == 0 else "ok",
            error_type="dependency" if i % 10 == 0 else "",
        )
        for i in range(40)
    ] + [
        factories.event_build(
            reco_v1, timestamp=now - timedelta(hours=i + 1), latency_ms=float(100 + i)
        )
        for i in range(10)
    ]
    ServingEvent.objects.bulk_create(events)
    rollups_rebuild()


def _overview(query: str):
    # The clock is the `now` fixture's (the portfolio fixture asks for it).
    return portfolio_overview(kpi_request_build(query=QueryDict(query), now=timezone.now()))


def _kpis(kpi_list) -> dict:
    return {k.definition.id: k.value for k in kpi_list}


@pytest.mark.recomputes("inferences", "error_rate", "latency_p95_ms")
def test_totals_equal_a_recomputation_from_raw_events(portfolio):
    overview = _overview("window=7d")
    raw = pd.DataFrame(list(ServingEvent.objects.values("status", "latency_ms")))
    totals = _kpis(overview.totals)
    assert totals["inferences"] == len(raw) == 50
    assert totals["error_rate"] == pytest.approx((raw.status == "error").mean())
    ok = raw[raw.status == "ok"].latency_ms
    # Served from the rollups' latency histograms: within 1% of the exact percentile.
    assert totals["latency_p95_ms"] == pytest.approx(np.percentile(ok, 95), rel=0.01)
    assert totals["unique_callers"] == 0
    assert totals["cost_usd"] == pytest.approx(50 * 0.0001)


def test_models_in_production_counts_only_production_deployments_in_the_window(portfolio):
    assert _kpis(_overview("window=7d").totals)["models_in_production"] == 1
    assert _kpis(_overview("window=90d").totals)["models_in_production"] == 2


def test_a_shadow_deployment_is_not_production(portfolio, recommender):
    factories.deployment_make(recommender.versions.get(), role="shadow", traffic_share=Decimal("0"))
    assert _kpis(_overview("window=7d").totals)["models_in_production"] == 1


def test_rows_sort_by_inferences_by_default_and_by_any_column(portfolio):
    assert [r.model.name for r in _overview("").rows] == [
        "fraud-scorer",
        "recommender",
    ]
    by_latency = _overview("sort=-latency_p95_ms").rows
    assert [r.model.name for r in by_latency] == ["recommender", "fraud-scorer"]


def test_the_industry_toggle_narrows_rows_and_totals(portfolio):
    overview = _overview("industry=ecommerce")
    assert [r.model.name for r in overview.rows] == ["recommender"]
    assert _kpis(overview.totals)["inferences"] == 10


def test_a_model_without_traffic_is_listed_with_zero_inferences(portfolio):
    rows = _overview("start=2020-01-01T00:00:00Z&end=2020-01-02T00:00:00Z").rows
    assert [r.kpis["inferences"].value for r in rows] == [0, 0]
    assert all(r.kpis["latency_p95_ms"].value is None for r in rows)


def test_an_unknown_sort_key_is_an_error(portfolio):
    with pytest.raises(KpiRequestError) as raised:
        _overview("sort=bogus")
    assert "sort" in raised.value.errors


def test_the_kpi_api_serves_the_same_numbers_with_definitions(portfolio, api_as, alice):
    response = api_as(alice).get(reverse("kpis-portfolio"), {"window": "7d"})
    assert response.status_code == 200
    kpis = {k["id"]: k for k in response.json()["kpis"]}
    assert kpis["inferences"]["value"] == 50
    assert kpis["error_rate"]["unit"] == "fraction" and kpis["error_rate"]["phase"] == "monitoring"
    assert kpis["models_in_production"]["phase"] == "deployment"
    assert kpis["latency_p95_ms"]["definition"].startswith("95th percentile")
    models = {m["model"]: m for m in response.json()["models"]}
    assert models["fraud-scorer"]["in_production"] is True
    breakdowns = response.json()["breakdowns"]
    assert breakdowns["calls_by_team"] == {"risk": 40, "growth": 10}
    assert breakdowns["errors_by_failure_class"] == {"dependency": 4}


@pytest.mark.recomputes("inferences", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms")
def test_the_model_api_serves_one_models_kpis_and_breakdowns(portfolio, api_as, alice):
    response = api_as(alice).get(reverse("kpis-model", args=["fraud-scorer"]), {"window": "7d"})
    assert response.status_code == 200
    body = response.json()
    kpis = {k["id"]: k["value"] for k in body["kpis"]}
    raw = pd.DataFrame(list(ServingEvent.objects.filter(model__name="fraud-scorer").values()))
    assert kpis["inferences"] == len(raw) == 40
    assert kpis["error_rate"] == pytest.approx(0.1)
    ok = raw[raw.status == "ok"].latency_ms
    for q in (50, 95, 99):
        assert kpis[f"latency_p{q}_ms"] == pytest.approx(np.percentile(ok, q), rel=0.01)
    assert kpis["sla_compliance"] == 0.5  # p95 under 50 ms, but 10% errors over the 1% target
    assert kpis["cost_per_1000_predictions"] == pytest.approx(0.1)
    assert body["in_production"] is True
    assert body["breakdowns"]["calls_by_version"] == {"1": 40}
    assert kpis["label_coverage"] == 0 and kpis["label_delay_p50_hours"] is None


def test_the_model_api_narrows_by_version_and_says_404_for_unknown_models(portfolio, api_as, alice):
    client = api_as(alice)
    url = reverse("kpis-model", args=["fraud-scorer"])
    kpis = {k["id"]: k["value"] for k in client.get(url, {"version": "9"}).json()["kpis"]}
    assert kpis["inferences"] == 0
    assert client.get(reverse("kpis-model", args=["nope"])).status_code == 404
    assert client.get(url, {"window": "2y"}).status_code == 400


def test_the_kpi_api_answers_a_bad_filter_with_a_400_naming_it(portfolio, api_as, alice):
    response = api_as(alice).get(reverse("kpis-portfolio"), {"window": "2y"})
    assert response.status_code == 400
    assert "window" in response.json()


def test_the_page_needs_a_login(portfolio, client):
    response = client.get(reverse("portfolio"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_page_shows_each_model_with_definitions_on_hover(portfolio, client, alice):
    client.force_login(alice)
    response = client.get(reverse("portfolio"), {"window": "7d"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-model="fraud-scorer"' in html and 'data-model="recommender"' in html
    assert "95th percentile of the latency" in html  # the tooltip text
    assert 'id="figure-latency_p95"' in html


def test_the_page_answers_a_bad_filter_with_400_and_the_reason(portfolio, client, alice):
    client.force_login(alice)
    # Refused before any clock is read: a fixed date may stay.
    response = client.get(reverse("portfolio"), {"start": "2026-11-02", "end": "2026-11-01"})
    assert response.status_code == 400
    assert "end must be after start" in response.content.decode()


@pytest.mark.parametrize(
    "url_name",
    ["dataprep:index", "development:index", "deployment:index", "monitoring:index", "value:index"],
)
def test_every_phase_page_renders_for_an_executive(portfolio, client, alice, url_name):
    client.force_login(alice)
    assert client.get(reverse(url_name), {"window": "30d"}).status_code == 200


def test_the_models_table_names_each_models_missed_sla_targets(portfolio, client, bob):
    """fraud-scorer misses its error-rate target (a tenth of its calls fail); the
    recommender has no targets."""
    client.force_login(bob)
    html = client.get(reverse("portfolio"), {"window": "7d"}).content.decode()
    row = html[html.index('data-model="fraud-scorer"') :]
    cell = row[row.index('data-kpi="sla_compliance"') : row.index("</tr>")]
    raw = ServingEvent.objects.filter(model__name="fraud-scorer")
    error_rate = raw.filter(status="error").count() / raw.count()
    assert f"Error rate {error_rate:.2%} &gt; 1.00%" in cell
    row = html[html.index('data-model="recommender"') :]
    assert ">n/a</td>" in row[row.index('data-kpi="sla_compliance"') - 4 : row.index("</tr>")]
