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
    met = [
        np.percentile(ok, 95) <= model.sla_latency_p95_ms,
        (raw.status == "error").mean() <= model.sla_error_rate,
        1 - (raw.error_type == "downtime").mean() >= model.sla_uptime,
    ]
    assert kpis["sla_compliance"] == pytest.approx(sum(met) / len(met))
