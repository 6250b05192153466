"""Serving-log files: formats, rejects with file:line, resuming without reading twice."""

import csv
import gzip
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from ingestion.logfiles import log_file_ingest, serving_logs_scan
from ingestion.models import LogFileOffset
from lifecycle.catalog.models import ServingEvent

pytestmark = pytest.mark.django_db


def _jsonl(path: Path, rows, *, tail: str = "") -> Path:
    text = "".join(json.dumps(r) + "\n" for r in rows) + tail
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        path.write_text(text)
    return path


def test_the_command_reads_json_lines_and_says_what_it_did(fraud_v1, event, tmp_path, capsys):
    path = _jsonl(tmp_path / "serving.jsonl", [event(i) for i in range(5)])
    call_command("ingest_serving_logs", str(path), "--no-progress")
    out = capsys.readouterr().out
    assert ServingEvent.objects.count() == 5
    assert "5 events stored, 0 repeats, 0 lines rejected" in out


def test_it_reads_gzipped_csv_with_a_header(fraud_v1, event, tmp_path):
    path = tmp_path / "serving.csv.gz"
    rows = [event(1, prediction=0.7, features=None), event(2, prediction="fraud")]
    rows[1]["features"] = json.dumps({"amount": 12.5})
    fields = [
        "event_id",
        "timestamp",
        "model",
        "version",
        "latency_ms",
        "status",
        "caller",
        "prediction",
        "features",
        "error_type",
    ]
    with gzip.open(path, "wt", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    call_command("ingest_serving_logs", str(path), "--no-progress")
    first, second = ServingEvent.objects.order_by("event_id")
    assert first.prediction == 0.7 and first.latency_ms == 11.0
    assert second.prediction == "fraud" and second.features == {"amount": 12.5}


def test_bad_lines_go_to_the_rejects_file_and_good_lines_are_kept(fraud_v1, event, tmp_path):
    path = tmp_path / "serving.jsonl"
    path.write_text(
        json.dumps(event(1))
        + "\n{not json\n"
        + json.dumps(event(3, status="nope"))
        + "\n"
        + json.dumps(event(4))
        + "\n"
    )
    summary = log_file_ingest(path=path)
    assert (summary.accepted, summary.rejected) == (2, 2)
    rejects = (tmp_path / "serving.jsonl.rejects").read_text().splitlines()
    assert rejects[0].startswith(f"{path}:2: unreadable line")
    assert rejects[1].startswith(f"{path}:3: status: must be 'ok' or 'error'")
    assert rejects[1].endswith(json.dumps(event(3, status="nope")))


def test_a_second_run_reads_only_what_was_appended(fraud_v1, event, tmp_path):
    path = _jsonl(tmp_path / "serving.jsonl", [event(i) for i in range(3)])
    log_file_ingest(path=path)
    with path.open("a") as f:
        f.write(json.dumps(event(3)) + "\n")
    summary = log_file_ingest(path=path)
    assert (summary.lines, summary.accepted, summary.repeats) == (1, 1, 0)


def test_it_resumes_after_a_crash_without_reading_a_line_twice(fraud_v1, event, tmp_path):
    path = _jsonl(tmp_path / "serving.jsonl.gz", [event(i) for i in range(10)])

    def crash(line: int) -> None:
        if line == 4:
            raise KeyboardInterrupt  # the process dies after its second chunk commits

    with pytest.raises(KeyboardInterrupt):
        log_file_ingest(path=path, chunk_lines=2, after_chunk=crash)
    assert ServingEvent.objects.count() == 4
    summary = log_file_ingest(path=path, chunk_lines=2)
    assert (summary.resumed_at_line, summary.lines, summary.repeats) == (4, 6, 0)
    assert ServingEvent.objects.count() == 10
    assert LogFileOffset.objects.get().line == 10


def test_the_offset_remembers_lines_stored_and_rejected(fraud_v1, event, tmp_path):
    path = _jsonl(tmp_path / "serving.jsonl", [event(i) for i in range(4)] + [{"bad": 1}])
    log_file_ingest(path=path, chunk_lines=2)
    state = LogFileOffset.objects.get()
    assert (state.line, state.accepted, state.rejected) == (5, 4, 1)


def test_the_scan_leaves_a_line_still_being_written(fraud_v1, event, tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    partial = json.dumps(event(2))
    _jsonl(folder / "a.jsonl", [event(1)], tail=partial[:10])
    serving_logs_scan(folder=folder)
    assert ServingEvent.objects.count() == 1
    with (folder / "a.jsonl").open("a") as f:
        f.write(partial[10:] + "\n")
    serving_logs_scan(folder=folder)
    assert ServingEvent.objects.count() == 2


def test_the_scan_puts_rejects_in_their_own_folder(fraud_v1, event, tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    _jsonl(folder / "a.ndjson", [event(1), {"event_id": "x"}])
    serving_logs_scan(folder=folder)
    assert (folder / "rejects" / "a.ndjson.rejects").exists()
    serving_logs_scan(folder=folder)  # the rejects folder is not read as a log
    assert ServingEvent.objects.count() == 1


def test_an_unknown_file_is_a_command_error_naming_it(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("ingest_serving_logs", str(tmp_path / "missing.jsonl"))
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(CommandError, match=r"notes\.txt: not a serving-log file"):
        call_command("ingest_serving_logs", str(tmp_path / "notes.txt"))
