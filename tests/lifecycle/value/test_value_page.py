"""The business-value page: calls by business unit, team and caller, and unique callers,
read from the rollups, against a recomputation from the raw events."""

from datetime import timedelta

import pandas as pd
import pytest
from django.test import Client

from ingestion.rollups import rollups_rebuild
from lifecycle.catalog.models import ServingEvent
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls(fraud_scorer, recommender, now):
    versions = [factories.version_make(fraud_scorer), factories.version_make(recommender)]
    callers = ["checkout", "mobile", "", "batch-job"]
    ServingEvent.objects.bulk_create(
        [
            factories.event_build(
                versions[i % 2],
                timestamp=now - timedelta(hours=i * 7 % 150, minutes=i % 50),
                caller=callers[i % 4],
            )
            for i in range(120)
        ]
    )
    rollups_rebuild()


def _raw(window_start) -> pd.DataFrame:
    events = ServingEvent.objects.filter(timestamp__gte=window_start)
    return pd.DataFrame(
        list(events.values("caller", "model__team__name", "model__team__business_unit"))
    )


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_calls_equal_a_recomputation_from_the_raw_events(alice, calls):
    response = _logged_in(alice).get("/value/?window=7d")
    assert response.status_code == 200
    context = response.context
    tables = context["tables"]
    raw = _raw(context["time_range"].start)
    expected_callers = raw["caller"].replace("", "(unknown)").value_counts().to_dict()
    assert {r.key: r.calls for r in tables["callers"].rows} == expected_callers
    assert {r.key: r.calls for r in tables["teams"].rows} == (
        raw["model__team__name"].value_counts().to_dict()
    )
    assert {r.key: r.calls for r in tables["business_units"].rows} == (
        raw["model__team__business_unit"].value_counts().to_dict()
    )
    unique_callers = next(k for k in context["kpis"] if k.definition.id == "unique_callers")
    assert unique_callers.value == raw.loc[raw["caller"] != "", "caller"].nunique()
    assert [r.calls for r in tables["callers"].rows] == sorted(
        (r.calls for r in tables["callers"].rows), reverse=True
    )


def test_a_bad_filter_is_a_400_that_names_the_field(alice):
    response = _logged_in(alice).get("/value/?window=3w")
    assert response.status_code == 400
    assert "window" in response.content.decode()
