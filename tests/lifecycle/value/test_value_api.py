"""GET /api/v1/kpis/value/: the value KPIs and breakdowns, read from the rollups, against a
recomputation from the raw events; bad filters are a 400 naming the field."""

from datetime import timedelta
from decimal import Decimal

import pandas as pd
import pytest
from django.db.models import F
from django.db.models.functions import Coalesce
from django.test import Client

from ingestion.rollups import rollups_rebuild
from lifecycle.catalog.models import ServingEvent
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls(fraud_scorer, recommender, now):
    fraud_scorer.unit_cost_usd = Decimal("0.002")
    fraud_scorer.save()
    versions = [factories.version_make(fraud_scorer), factories.version_make(recommender)]
    callers = ["checkout", "mobile", "", "batch-job"]
    events = []
    for i in range(140):
        event = factories.event_build(
            versions[i % 2],
            # Past the week, too: the window must cut them off.
            timestamp=now - timedelta(hours=i * 11 % 200, minutes=i % 50),
            caller=callers[i % 4],
        )
        event.cost_usd = Decimal("0.01") * (i % 3) if i % 5 else None
        events.append(event)
    ServingEvent.objects.bulk_create(events)
    rollups_rebuild()


def _raw(start, end) -> pd.DataFrame:
    events = ServingEvent.objects.filter(timestamp__gte=start, timestamp__lt=end).annotate(
        cost=Coalesce(F("cost_usd"), F("model__unit_cost_usd"))
    )
    rows = events.values("caller", "model__name", "model__team__name", "cost")
    frame = pd.DataFrame(list(rows))
    frame["cost"] = frame["cost"].map(lambda c: Decimal(0) if c is None else Decimal(c))
    return frame


@pytest.mark.recomputes("model_serving_cost", "calls", "unique_callers")
def test_the_value_kpis_equal_a_recomputation_from_the_raw_events(alice, api_as, calls):
    response = api_as(alice).get("/api/v1/kpis/value/?window=7d")
    assert response.status_code == 200
    body = response.json()
    raw = _raw(pd.Timestamp(body["start"]), pd.Timestamp(body["end"]))
    kpis = {k["id"]: k for k in body["kpis"]}
    assert kpis["calls"]["value"] == len(raw)
    assert kpis["calls"]["unit"] == "count"
    assert kpis["unique_callers"]["value"] == raw.loc[raw["caller"] != "", "caller"].nunique()
    assert {r["key"]: r["calls"] for r in body["calls_by_caller"]} == (
        raw["caller"].replace("", "(unknown)").value_counts().to_dict()
    )
    assert {r["key"]: r["calls"] for r in body["calls_by_team"]} == (
        raw["model__team__name"].value_counts().to_dict()
    )
    expected_cost = raw.groupby("model__name")["cost"].sum()
    assert {r["model"]: Decimal(str(r["cost_usd"])) for r in body["cost_by_model"]} == (
        expected_cost.to_dict()
    )
    assert {r["model"]: r["calls"] for r in body["cost_by_model"]} == (
        raw["model__name"].value_counts().to_dict()
    )


def test_the_page_shows_the_cost_per_model_the_api_answers(alice, api_as, calls):
    api = api_as(alice).get("/api/v1/kpis/value/?window=7d").json()
    browser = Client()
    browser.force_login(alice)
    page = browser.get("/value/?window=7d")
    assert page.status_code == 200
    assert [(r.model, r.cost_usd) for r in page.context["tables"]["model_costs"].rows] == [
        (r["model"], Decimal(str(r["cost_usd"]))) for r in api["cost_by_model"]
    ]


@pytest.mark.parametrize(("query", "field"), [("window=2y", "window"), ("team=nobody", "team")])
def test_it_refuses_a_bad_filter_with_a_400_naming_the_field(alice, api_as, query, field):
    response = api_as(alice).get(f"/api/v1/kpis/value/?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_the_value_kpis_are_in_the_openapi_schema():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/kpis/value/"]["get"]
    assert {"200", "400", "401", "403", "503"} <= set(operation["responses"])
    assert "window" in {p["name"] for p in operation["parameters"]}
