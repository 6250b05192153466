"""Period-over-period on the pages and the KPI API: tiles show the change against the
previous period of the same length, time-series charts overlay it with
`compare=previous`, and every KPI endpoint answers `previous`; each previous number is
recomputed here from the raw rows."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pandas as pd
import pytest
from django.urls import reverse

from ingestion.rollups import rollups_rebuild
from lifecycle.catalog.models import DeploymentRole, ServingEvent
from lifecycle.catalog.serving.buckets import bucket_floor
from tests import factories

pytestmark = pytest.mark.django_db
HOUR = pd.Timedelta(hours=1)


@pytest.fixture
def windows(now):
    """The 24h window (its start on the hour) and the period of its length before it."""
    start = bucket_floor(now - timedelta(hours=24), granularity="hour")
    return {"start": start, "previous_start": start - (now - start), "now": now}


@pytest.fixture
def two_days(fraud_scorer, now, windows):
    """fraud-scorer v1 in production: 30 events in the last 24h window (every 5th a
    dependency error, three callers) and 20 in the period before (every 4th, two
    callers); v2 deployed in the period before, v3 in the window."""
    v1, v2, v3 = (factories.version_make(fraud_scorer, str(n)) for n in (1, 2, 3))
    factories.deployment_make(v1, started_at=now - timedelta(days=40))
    factories.deployment_make(
        v2, endpoint=factories.endpoint_make("ep-two"), started_at=now - timedelta(hours=30)
    )
    factories.deployment_make(
        v3, endpoint=factories.endpoint_make("ep-three"), started_at=now - timedelta(hours=5)
    )
    scoring = factories.endpoint_make("scoring")
    events = [
        factories.event_build(
            v1,
            endpoint=scoring,
            timestamp=now - timedelta(minutes=20 + 40 * i),
            status="error" if i % 5 == 0 else "ok",
            error_type="dependency" if i % 5 == 0 else "",
            latency_ms=None if i % 5 == 0 else float(10 + i),
            caller=f"app-{i % 3}",
        )
        for i in range(30)
    ] + [
        factories.event_build(
            v1,
            endpoint=scoring,
            timestamp=now - timedelta(hours=26, minutes=45 * i),
            status="error" if i % 4 == 0 else "ok",
            error_type="timeout" if i % 4 == 0 else "",
            latency_ms=None if i % 4 == 0 else float(20 + i),
            caller=f"app-{i % 2}",
        )
        for i in range(20)
    ]
    ServingEvent.objects.bulk_create(events)
    rollups_rebuild()
    return fraud_scorer


def _raw(lo, hi) -> pd.DataFrame:
    rows = pd.DataFrame(list(ServingEvent.objects.values("timestamp", "status", "caller")))
    rows["timestamp"] = pd.to_datetime(rows["timestamp"], utc=True)
    return rows[(rows.timestamp >= lo) & (rows.timestamp < hi)]


def _tile(html: str, kpi_id: str) -> str:
    return re.search(rf'data-kpi="{kpi_id}".*?</div>\s*</div>', html, re.S).group(0)


@pytest.mark.recomputes("inferences", "error_rate")
def test_a_tile_shows_its_change_against_the_previous_period(two_days, windows, client, bob):
    client.force_login(bob)
    html = client.get(reverse("portfolio"), {"window": "24h"}).content.decode()
    now_rows = _raw(windows["start"], windows["now"] + HOUR)
    before = _raw(windows["previous_start"], windows["start"])
    change = (len(now_rows) - len(before)) / len(before)
    inferences = _tile(html, "inferences")
    assert f"{abs(change):.2%} vs the 24 hours before" in inferences
    assert "change-neutral" in inferences and "▲" in inferences
    rate_now = (now_rows.status == "error").mean()
    rate_before = (before.status == "error").mean()
    error_rate = _tile(html, "error_rate")
    assert f"{abs(rate_now - rate_before) * 100:.2f} pts vs the 24 hours before" in error_rate
    # The error rate fell: better, in green, and in words.
    assert "change-better" in error_rate and "▼" in error_rate and "(better;" in error_rate
    assert f": {rate_before:.2%}" in error_rate  # the tooltip's exact previous value


def _previous_traces(figure_json: str) -> list[dict]:
    return [t for t in json.loads(figure_json)["data"] if t.get("legendgroup") == "previous"]


# A day's window is drawn per 5 minutes, its previous day too.
DAY_BUCKET = "5min"


def _shifted(rows: pd.DataFrame, windows, freq: str = DAY_BUCKET) -> pd.Series:
    """Events per bucket of the previous period, zero-filled, moved first bucket onto
    first."""
    first = pd.Timestamp(windows["previous_start"]).floor(freq)
    start = pd.Timestamp(windows["start"])
    buckets = pd.date_range(first, start - pd.Timedelta(1), freq=freq)
    counts = rows.groupby(rows.timestamp.dt.floor(freq)).size().reindex(buckets, fill_value=0)
    counts.index = counts.index + (start.floor(freq) - first)
    return counts


@pytest.mark.recomputes("inferences", "errors")
def test_compare_previous_overlays_the_previous_period_shifted_onto_the_axis(
    two_days, windows, client, bob, now, time_machine
):
    # Still: the previous period starts as long before the window as the window lasts,
    # and a ticking clock would move its first 5-minute bucket.
    time_machine.move_to(now, tick=False)
    client.force_login(bob)
    plain = client.get(reverse("portfolio"), {"window": "24h"})
    assert _previous_traces(plain.context["charts"]["series"]) == []
    response = client.get(reverse("portfolio"), {"window": "24h", "compare": "previous"})
    inferences, errors = _previous_traces(response.context["charts"]["series"])
    before = _raw(windows["previous_start"], windows["start"])
    expected = _shifted(before, windows)
    assert list(pd.to_datetime(inferences["x"], utc=True)) == list(expected.index)
    assert inferences["y"] == expected.tolist()
    assert errors["y"] == _shifted(before[before.status == "error"], windows).tolist()
    assert inferences["name"] == "previous 24 hours" and inferences["line"]["dash"] == "dot"
    # The hover says when the point really was.
    first = pd.Timestamp(windows["previous_start"]).floor(DAY_BUCKET)
    assert inferences["customdata"][0] == f"{first:%Y-%m-%d %H:%M} UTC"
    assert 'name="compare" value="previous" id="id_compare" checked' in response.content.decode()


@pytest.mark.recomputes("inferences")
def test_model_health_overlays_the_previous_period_on_every_chart(
    two_days, windows, client, bob, now, time_machine
):
    time_machine.move_to(now, tick=False)
    client.force_login(bob)
    url = reverse("monitoring:model-health", args=["fraud-scorer"])
    charts = client.get(url, {"window": "24h", "compare": "previous"}).context["charts"]
    [throughput] = _previous_traces(charts["throughput"])
    before = _raw(windows["previous_start"], windows["start"])
    assert throughput["y"] == _shifted(before, windows).tolist()
    assert len(_previous_traces(charts["latency"])) == 3  # p50, p95 and p99 of v1
    [errors] = _previous_traces(charts["errors"])
    assert errors["y"] == _shifted(before[before.status == "error"], windows).tolist()
    assert all(_previous_traces(c) == [] for c in client.get(url).context["charts"].values())


@pytest.mark.parametrize(
    "url",
    [
        reverse("portfolio"),
        reverse("monitoring:index"),
        reverse("monitoring:model-health", args=["fraud-scorer"]),
    ],
)
def test_a_bad_compare_value_is_400_naming_it(fraud_scorer, client, bob, url):
    client.force_login(bob)
    response = client.get(url, {"compare": "last-year"})
    assert response.status_code == 400
    assert "compare" in response.content.decode()


def test_the_kpi_api_refuses_a_bad_compare_or_previous_naming_it(fraud_scorer, api_as, alice):
    client = api_as(alice)
    answer = client.get(reverse("kpis-portfolio"), {"compare": "last-year"})
    assert answer.status_code == 400 and "compare" in answer.json()
    for url in (
        reverse("kpis-portfolio"),
        reverse("kpis-model", args=["fraud-scorer"]),
        reverse("kpis-deployment"),
        reverse("kpis-value"),
        reverse("api-datasets"),
        reverse("api-training-runs"),
    ):
        answer = client.get(url, {"previous": "maybe"})
        assert answer.status_code == 400, url
        assert "previous" in answer.json(), url


@pytest.mark.recomputes("inferences", "error_rate", "unique_callers", "production_deployments")
def test_every_kpi_endpoint_answers_previous(two_days, windows, api_as, alice):
    client = api_as(alice)
    before = _raw(windows["previous_start"], windows["start"])
    asked = {"window": "24h", "previous": "true"}

    def kpis(url: str, query: dict) -> dict:
        return {k["id"]: k for k in client.get(url, query).json()["kpis"]}

    for url in (reverse("kpis-portfolio"), reverse("kpis-model", args=["fraud-scorer"])):
        answer = kpis(url, asked)
        assert answer["inferences"]["previous"] == len(before)
        assert answer["error_rate"]["previous"] == pytest.approx((before.status == "error").mean())
        assert answer["unique_callers"]["previous"] == before.caller.nunique()
        assert all("previous" not in k for k in kpis(url, {"window": "24h"}).values())
    value = kpis(reverse("kpis-value"), asked)
    assert value["unique_callers"]["previous"] == before.caller.nunique()
    deployments = pd.DataFrame(
        list(two_days.versions.values_list("deployments__started_at", "deployments__role")),
        columns=["started_at", "role"],
    )
    started = pd.to_datetime(deployments.started_at, utc=True)
    in_previous = (started >= windows["previous_start"]) & (started < windows["start"])
    deployment = kpis(reverse("kpis-deployment"), asked)
    assert deployment["production_deployments"]["previous"] == int(
        (in_previous & (deployments.role == DeploymentRole.PRODUCTION)).sum()
    )
    assert all("previous" in k for k in deployment.values())


def test_kpis_that_describe_a_state_carry_no_previous(two_days, api_as, alice, now):
    dataset = factories.dataset_make()
    factories.dataset_version_make(dataset, created_at=now - timedelta(days=2))
    client = api_as(alice)
    [row] = client.get(reverse("api-datasets"), {"previous": "true"}).json()["datasets"]
    assert row["kpis"] and all(k["compares"] is False and "previous" not in k for k in row["kpis"])
    version = client.get(
        reverse("api-dataset-version", args=[dataset.name, "1"]), {"previous": "true"}
    )
    assert all("previous" not in k for k in version.json()["kpis"])
    assert client.get(reverse("api-training-runs"), {"previous": "true"}).status_code == 200
