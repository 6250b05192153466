"""Log files: a line json.loads chokes on or the database would refuse is a reject, and
the good lines of its chunk are kept."""

import json
from datetime import timedelta

import pytest

from ingestion.logfiles import log_file_ingest
from lifecycle.catalog.models import ServingEvent

pytestmark = pytest.mark.django_db


def test_a_line_nested_too_deeply_or_holding_a_lone_surrogate_is_a_reject(fraud_v1, tmp_path, now):
    good = {
        "event_id": "e-1",
        "timestamp": (now - timedelta(hours=1)).isoformat(),
        "model": "fraud-scorer",
        "version": "1",
        "latency_ms": 12.0,
        "status": "ok",
    }
    lines = [
        json.dumps(good),
        "[" * 100_000 + "]" * 100_000,
        json.dumps({**good, "event_id": "e-2"})[:-1] + ', "caller": "\\ud800"}',
        json.dumps({**good, "event_id": "e-3", "timestamp": "9999-12-31T23:30:00Z"}),
    ]
    path = tmp_path / "serving.jsonl"
    path.write_text("\n".join(lines) + "\n")
    summary = log_file_ingest(path=path)
    assert (summary.accepted, summary.rejected) == (1, 3)
    assert list(ServingEvent.objects.values_list("event_id", flat=True)) == ["e-1"]
    rejects = (tmp_path / "serving.jsonl.rejects").read_text()
    assert "nested too deeply" in rejects and "surrogate" in rejects and "timestamp" in rejects
