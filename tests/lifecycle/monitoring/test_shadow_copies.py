"""Shadow copies counted apart: every serving KPI of the requests leaves them out, and
`shadow_inferences` and `shadow_cost_usd` count them, each against a pandas
recomputation from the raw events and the deployments (tests/shadow_copies.py)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.urls import reverse

from ingestion.models import RollupMark
from ingestion.rollups import rollups_rebuild
from lifecycle.catalog.kpis import kpi_request_build, kpi_values
from lifecycle.catalog.models import Deployment, FailureClass, ServingEvent
from lifecycle.catalog.windows import TimeRange
from lifecycle.deployment.kpis import champion_challenger
from tests import factories
from tests.shadow_copies import events_frame

pytestmark = pytest.mark.django_db

COLUMNS = (
    "pk",
    "model_id",
    "model_version_id",
    "endpoint_id",
    "timestamp",
    "caller",
    "status",
    "latency_ms",
    "cost_usd",
)
SERVING = (
    "inferences",
    "throughput_per_hour",
    "errors",
    "error_rate",
    "latency_p95_ms",
    "cost_usd",
    "shadow_inferences",
    "shadow_cost_usd",
    "calls",
    "unique_callers",
)


@pytest.fixture
def challenger_in_shadow(fraud_scorer, now):
    """fraud-scorer v1 in production on "scoring"; v2 beside it in shadow from four days
    ago to one day ago, answering a copy of each request, then in production. Events
    every 7 minutes over six days, errors and callers among them, some costs of their own."""
    scoring = factories.endpoint_make("scoring")
    v1 = factories.version_make(fraud_scorer, "1")
    v2 = factories.version_make(fraud_scorer, "2")
    switch, shadow_from = now - timedelta(days=1), now - timedelta(days=4)
    factories.deployment_make(v1, endpoint=scoring, started_at=now - timedelta(days=30))
    Deployment.objects.filter(model_version=v1).update(ended_at=switch)
    factories.shadow_deployment_make(v2, endpoint=scoring, started_at=shadow_from, ended_at=switch)
    factories.deployment_make(v2, endpoint=scoring, started_at=switch)
    rng = np.random.default_rng(11)
    events = []
    moment = now - timedelta(days=6)
    while moment < now:
        live = v1 if moment < switch else v2
        answering = [live, v2] if shadow_from <= moment < switch else [live]
        caller = str(rng.choice(["checkout", "mobile", ""]))
        for version in answering:
            failed = rng.random() < 0.1
            event = factories.event_build(
                version,
                endpoint=scoring,
                timestamp=moment,
                latency_ms=None if failed else float(rng.lognormal(3 if version == v1 else 4, 0.4)),
                status="error" if failed else "ok",
                error_type=FailureClass.TIMEOUT if failed else "",
                # A copy names the caller of the request it mirrors.
                caller=caller,
            )
            if rng.random() < 0.3:
                event.cost_usd = Decimal("0.002")
            events.append(event)
        moment += timedelta(minutes=7)
    ServingEvent.objects.bulk_create(events)
    rollups_rebuild()
    return v1, v2


def _raw():
    raw = events_frame(COLUMNS)
    unit = float(factories.RegisteredModel.objects.get(name="fraud-scorer").unit_cost_usd)
    raw["cost"] = raw["cost_usd"].astype(float).fillna(unit)
    return raw


def _expected(raw, time_range: TimeRange) -> dict:
    part = raw[(raw.timestamp >= time_range.start) & (raw.timestamp < time_range.end)]
    requests, copies = part[~part.shadow], part[part.shadow]
    failed = requests.status == "error"
    return {
        "inferences": len(requests),
        "throughput_per_hour": len(requests) / (time_range.duration.total_seconds() / 3600),
        "errors": int(failed.sum()),
        "error_rate": failed.mean(),
        "latency_p95_ms": np.percentile(requests.latency_ms.dropna(), 95),
        "cost_usd": requests.cost.sum(),
        "shadow_inferences": len(copies),
        "shadow_cost_usd": copies.cost.sum(),
        "calls": len(requests),
        "unique_callers": requests.loc[requests.caller != "", "caller"].nunique(),
    }


def _answered(query: dict, now) -> tuple[dict, TimeRange]:
    request = kpi_request_build(query={"model": "fraud-scorer", **query}, now=now)
    return {v.definition.id: v.value for v in kpi_values(list(SERVING), request)}, (
        request.time_range
    )


def _assert_close(answered: dict, expected: dict) -> None:
    for kpi_id, value in expected.items():
        tolerance = 0.01 if kpi_id == "latency_p95_ms" else 1e-9
        assert answered[kpi_id] == pytest.approx(value, rel=tolerance), kpi_id


@pytest.mark.recomputes(*SERVING)
@pytest.mark.parametrize(
    "query",
    [
        {"window": "7d"},
        # Edges that cut hours: the raw events there are classified by the deployments.
        {"start": "-4d-17m", "end": "-1d+23m"},
        {"start": "-2d-41m", "end": "-13m"},
    ],
)
def test_the_serving_kpis_leave_shadow_copies_out_and_count_them_apart(
    challenger_in_shadow, now, query
):
    if "start" in query:
        query = {k: (now + _offset(v)).isoformat() for k, v in query.items()}
    answered, time_range = _answered(query, now)
    raw = _raw()
    expected = _expected(raw, time_range)
    assert expected["shadow_inferences"] > 0
    _assert_close(answered, expected)


def _offset(text: str) -> timedelta:
    """'-4d-17m' -> -(4 days 17 minutes); '-1d+23m' -> -1 day + 23 minutes."""
    total, number, sign = timedelta(0), "", 1
    for char in text:
        if char in "+-":
            sign = 1 if char == "+" else -1
        elif char.isdigit():
            number += char
        else:
            unit = {"d": "days", "m": "minutes"}[char]
            total += sign * timedelta(**{unit: int(number)})
            number = ""
    return total


def test_a_shadow_span_written_after_the_rollups_moves_its_copies_out(
    fraud_scorer, now, django_capture_on_commit_callbacks
):
    """The copies arrive before the registry says v2 was in shadow: once the deployment
    is written, its hours are marked, refreshed, and the copies leave the requests."""
    scoring = factories.endpoint_make("scoring")
    v1 = factories.version_make(fraud_scorer, "1")
    v2 = factories.version_make(fraud_scorer, "2")
    factories.deployment_make(v1, endpoint=scoring, started_at=now - timedelta(days=30))
    moments = [now - timedelta(hours=h, minutes=5) for h in range(1, 30)]
    ServingEvent.objects.bulk_create(
        [factories.event_build(v, endpoint=scoring, timestamp=m) for m in moments for v in (v1, v2)]
    )
    rollups_rebuild()
    assert _answered({"window": "7d"}, now)[0]["inferences"] == 58
    with django_capture_on_commit_callbacks(execute=True):
        shadow = factories.deployment_make(
            v2,
            endpoint=scoring,
            role="shadow",
            traffic_share=Decimal("0"),
            started_at=now - timedelta(hours=20),
        )
    assert not RollupMark.objects.exists()  # the refresh ran and took its marks
    answered, time_range = _answered({"window": "7d"}, now)
    _assert_close(answered, _expected(_raw(), time_range))
    assert answered["shadow_inferences"] == 19
    assert answered["inferences"] == 58 - 19
    # Its end moved earlier: the hours after the new end are requests again.
    with django_capture_on_commit_callbacks(execute=True):
        shadow.ended_at = now - timedelta(hours=10)
        shadow.save()
    answered, time_range = _answered({"window": "7d"}, now)
    _assert_close(answered, _expected(_raw(), time_range))
    assert answered["shadow_inferences"] == 10
    # Deleted: none of them is a copy any more.
    with django_capture_on_commit_callbacks(execute=True):
        shadow.delete()
    assert _answered({"window": "7d"}, now)[0]["shadow_inferences"] == 0
    assert _answered({"window": "7d"}, now)[0]["inferences"] == 58


def test_the_champion_challenger_comparison_still_reads_the_copies(challenger_in_shadow, now):
    v1, v2 = challenger_in_shadow
    window = TimeRange(now - timedelta(days=5), now, "")
    (comparison,) = champion_challenger(Deployment.objects.all(), time_range=window)
    raw = _raw()
    copies = raw[raw.shadow & (raw.model_version_id == v2.pk)]
    assert comparison.challenger.role == "shadow"
    assert comparison.challenger.inferences == len(copies) > 0
    # The champion's side: v1's requests while v2 shadowed it.
    overlap = raw[(raw.model_version_id == v1.pk) & (raw.timestamp >= copies.timestamp.min())]
    assert comparison.champion.inferences == len(overlap) == len(copies)


@pytest.mark.recomputes("shadow_inferences")
def test_the_portfolio_and_model_apis_answer_shadow_inferences(
    challenger_in_shadow, api_as, alice, now
):
    raw = _raw()
    week = raw[raw.timestamp >= now - timedelta(days=7)]
    copies = int(week.shadow.sum())
    model = api_as(alice).get(reverse("kpis-model", args=["fraud-scorer"]), {"window": "7d"})
    kpis = {k["id"]: k["value"] for k in model.json()["kpis"]}
    assert kpis["shadow_inferences"] == copies
    assert kpis["inferences"] == len(week) - copies
    assert sum(model.json()["breakdowns"]["calls_by_version"].values()) == len(week) - copies
    portfolio = api_as(alice).get(reverse("kpis-portfolio"), {"window": "7d"})
    totals = {k["id"]: k["value"] for k in portfolio.json()["kpis"]}
    assert totals["shadow_inferences"] == copies
    (row,) = [m for m in portfolio.json()["models"] if m["model"] == "fraud-scorer"]
    assert {k["id"]: k["value"] for k in row["kpis"]}["shadow_inferences"] == copies


def test_model_health_shows_the_shadow_copies_of_each_version(
    challenger_in_shadow, client, alice, now
):
    _, v2 = challenger_in_shadow
    client.force_login(alice)
    page = client.get(reverse("monitoring:model-health", args=["fraud-scorer"]), {"window": "7d"})
    assert page.status_code == 200
    raw = _raw()
    week = raw[raw.timestamp >= now - timedelta(days=7)]
    copies = int((week.shadow & (week.model_version_id == v2.pk)).sum())
    versions = {row[0]: row for row in page.context["tables"]["versions"].rows}
    assert versions["2"][2] == copies
    assert versions["1"][2] == 0
    assert f"{copies:,}" in page.content.decode()
