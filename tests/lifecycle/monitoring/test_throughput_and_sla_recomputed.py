"""Throughput and SLA compliance through the model KPI API, against pandas over the raw
serving events of the window the API answered for."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from ingestion.rollups import rollups_rebuild
from lifecycle.catalog.models import RegisteredModel, ServingEvent
from tests import factories

pytestmark = pytest.mark.django_db
THROUGHPUT = ("throughput_per_minute", "throughput_per_hour", "throughput_per_day")


@pytest.fixture
def served(fraud_scorer, now):
    """Three days of fraud-scorer traffic: quick but failing slightly too often, with a
    few downtime failures; its SLA asks p95 <= 50 ms, errors <= 1%, uptime >= 99%."""
    RegisteredModel.objects.filter(pk=fraud_scorer.pk).update(sla_uptime=0.99)
    version = factories.version_make(fraud_scorer)
    rng = np.random.default_rng(11)
    events = []
    for i in range(400):
        failed = i % 40 == 0
        events.append(
            factories.event_build(
                version,
                timestamp=now - timedelta(seconds=int(rng.integers(60, 3 * 86400))),
                latency_ms=None if failed else float(rng.lognormal(3, 0.4)),
                status="error" if failed else "ok",
                error_type=("downtime" if i % 80 == 0 else "timeout") if failed else "",
            )
        )
    ServingEvent.objects.bulk_create(events)
    rollups_rebuild()


@pytest.mark.recomputes(*THROUGHPUT, "sla_compliance")
@pytest.mark.parametrize("window", ["24h", "7d", "30d"])
def test_throughput_and_sla_compliance_equal_a_recomputation(api_as, alice, served, window):
    body = api_as(alice).get(f"/api/v1/kpis/models/fraud-scorer/?window={window}").json()
    kpis = {k["id"]: k["value"] for k in body["kpis"]}
    misses = next(k["misses"] for k in body["kpis"] if k["id"] == "sla_compliance")
    start, end = pd.Timestamp(body["start"]), pd.Timestamp(body["end"])
    raw = pd.DataFrame(
        list(ServingEvent.objects.values("timestamp", "status", "error_type", "latency_ms"))
    )
    raw = raw[(raw.timestamp >= start) & (raw.timestamp < end)]
    minutes = (end - start) / pd.Timedelta(minutes=1)
    assert kpis["throughput_per_minute"] == pytest.approx(len(raw) / minutes)
    assert kpis["throughput_per_hour"] == pytest.approx(len(raw) / (minutes / 60))
    assert kpis["throughput_per_day"] == pytest.approx(len(raw) / (minutes / 1440))
    model = RegisteredModel.objects.get(name="fraud-scorer")
    ok = raw.loc[raw.status == "ok", "latency_ms"]
    # Uptime in minutes: every minute with traffic, down when a timeout or downtime hit it.
    down = raw.assign(minute=raw.timestamp.dt.floor("min"), down=raw.status == "error")
    down = down.groupby("minute").down.any()
    actual = {
        "latency_p95_ms": np.percentile(ok, 95),
        "error_rate": (raw.status == "error").mean(),
        "uptime": 1 - down.mean(),
    }
    met = {
        "latency_p95_ms": actual["latency_p95_ms"] <= model.sla_latency_p95_ms,
        "error_rate": actual["error_rate"] <= model.sla_error_rate,
        "uptime": actual["uptime"] >= model.sla_uptime,
    }
    assert kpis["sla_compliance"] == pytest.approx(sum(met.values()) / len(met))
    # The targets missed are named, each with its value and target.
    assert {m["kpi"] for m in misses} == {kpi for kpi, ok in met.items() if not ok} != set()
    for miss in misses:
        precision = 0.01 if miss["kpi"].startswith("latency") else 1e-9
        assert miss["actual"] == pytest.approx(actual[miss["kpi"]], rel=precision)
    texts = [m["text"] for m in misses]
    assert f"Error rate {actual['error_rate']:.2%} > 1.00% target" in texts
