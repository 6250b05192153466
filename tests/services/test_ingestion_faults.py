"""Ingestion under faults, with a real worker, broker and PostgreSQL.

- A rollup worker SIGKILLed at fixed points of its work (before the write, after the
  write but before the acknowledgement, between two batches) leaves counts that equal a
  recomputation from the raw events once the work is redone.
- With the broker down, pushes still succeed and what was not rolled up is caught up.
- With PostgreSQL unreachable the API answers 503 with Retry-After, then recovers by
  itself when it is back.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib import request as urlrequest
from urllib.error import HTTPError
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pytest
from django.conf import settings
from django.db import connection, transaction

from ingestion.events import events_store, events_validate
from ingestion.models import RollupMark
from ingestion.rollups import rollups_rebuild
from ingestion.tasks import rollups_refresh_task
from lifecycle.catalog.models import LatencyRollup, ServingEvent, ServingRollup
from lifecycle.catalog.tokens import api_token_create
from tests import factories
from tests.services.conftest import WorkerProcess

pytestmark = [pytest.mark.services, pytest.mark.usefixtures("transactional_db", "through_broker")]


@pytest.fixture
def serving(services, risk_team):
    model = factories.model_make("fraud-scorer", team=risk_team)
    return [factories.version_make(model, str(v)) for v in (1, 2, 3)]


@pytest.fixture
def t0(now):
    """Where the pushed traffic starts: midnight five days before `now`; it spans four."""
    return now.replace(hour=0, minute=0) - timedelta(days=5)


def _rows(n: int, *, start: datetime, seed: int = 5, prefix: str = "f") -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        failed = rng.random() < 0.1
        row = {
            "event_id": f"{prefix}-{i}",
            "timestamp": (start + timedelta(seconds=int(rng.integers(0, 4 * 86400)))).isoformat(),
            "model": "fraud-scorer",
            "version": str(1 + i % 3),
            "status": "error" if failed else "ok",
            "caller": str(rng.choice(["a", "b"])),
        }
        if failed:
            row["error_type"] = "timeout"
        else:
            row["latency_ms"] = float(rng.lognormal(3, 0.5))
        rows.append(row)
    return rows


def _store(rows: list[dict]) -> None:
    """Events and their rollup marks, committed as the push API commits them."""
    batch = events_validate(rows=rows, principal=None)
    assert not batch.errors
    with transaction.atomic():
        events_store(events=batch.events)


def _snapshot() -> list:
    keys = ("granularity", "bucket_start", "model_version_id", "endpoint_id", "caller")
    serving = ServingRollup.objects.values_list(*keys, "inferences", "errors", "cost_usd")
    latency = LatencyRollup.objects.values_list(*keys[:4], "histogram")
    return sorted(map(repr, serving)) + sorted(repr((*r[:4], bytes(r[4]))) for r in latency)


def _recomputed() -> list:
    """The rollups recomputed from scratch in this process, to compare with."""
    rollups_rebuild()
    return _snapshot()


@pytest.fixture
def faulty_worker(services, tmp_path) -> Iterator:
    """faulty_worker(point) -> a worker whose pool process SIGKILLs itself, once, at
    `point` of its rollup work. The worker then requeues the task (acks late, reject on
    worker lost) and a fresh pool process redoes it."""
    started: list[WorkerProcess] = []

    def start(point: str, *, batch_marks: int = 2000) -> tuple[WorkerProcess, Path]:
        once = tmp_path / f"fault-{point}"
        once.write_text("armed")
        worker = WorkerProcess(log_dir=tmp_path)
        worker.env.update(
            # Fault points fire only under the test-only setting this module turns on.
            DJANGO_SETTINGS_MODULE="tests.services.fault_settings",
            KPIBOARD_FAULT_POINT=point,
            KPIBOARD_FAULT_ONCE_FILE=str(once),
            KPIBOARD_ROLLUP_BATCH_MARKS=str(batch_marks),
        )
        worker.start()
        started.append(worker)
        return worker, once

    yield start
    for worker in started:
        worker.stop()


def _wait(probe, *, timeout: float = 90, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.3)
    pytest.fail(f"timed out after {timeout}s waiting for {what}", pytrace=False)


@pytest.mark.parametrize(
    ("point", "batch_marks"),
    [("before_write", 2000), ("after_write", 2000), ("mid_batch", 100)],
)
def test_a_worker_killed_during_rollups_leaves_counts_equal_to_a_recomputation(
    serving, faulty_worker, point, batch_marks, t0
):
    _store(_rows(3000, start=t0))
    if point == "mid_batch":
        assert RollupMark.objects.count() > batch_marks, "it needs more than one batch"
    worker, once = faulty_worker(point, batch_marks=batch_marks)

    rollups_refresh_task.apply_async(queue=worker.queue)

    _wait(lambda: not once.exists(), what=f"the worker to die at {point}")
    _wait(
        lambda: "SIGKILL" in worker.log_tail(400) or "WorkerLostError" in worker.log_tail(400),
        what="the worker to see its pool process killed",
    )
    # Acks late and reject-on-worker-lost: the same message runs again, to the end.
    _wait(lambda: "succeeded" in worker.log_tail(400), what="the redelivered task to succeed")
    assert not RollupMark.objects.exists()
    after_fault = _snapshot()
    assert after_fault, "the rollups were written"
    assert after_fault == _recomputed()
    per_hour = ServingRollup.objects.filter(granularity="hour")
    assert sum(per_hour.values_list("inferences", flat=True)) == ServingEvent.objects.count()


_PUSH_SCRIPT = """
import django, json, sys
django.setup()
from django.conf import settings
from django.test import Client
settings.ALLOWED_HOSTS = ["testserver"]
client = Client(HTTP_AUTHORIZATION="Token " + sys.argv[1])
response = client.post("/api/v1/events/", sys.stdin.read(), content_type="application/json",
                       secure=True)
print(json.dumps({"status": response.status_code, "body": response.content.decode()}))
"""


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _test_database_url() -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


def test_with_the_broker_down_pushes_succeed_and_rollups_catch_up_later(
    serving, risk_team, celery_worker, t0
):
    _, key = api_token_create(team=risk_team)
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{_closed_port()}/0",
    }
    done = subprocess.run(
        [sys.executable, "-c", _PUSH_SCRIPT, key],
        input=json.dumps(_rows(500, start=t0, prefix="b")),
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["status"] == 202, done.stdout + done.stderr
    assert json.loads(answer["body"]) == {"accepted": 500, "repeats": 0}
    assert ServingEvent.objects.count() == 500
    assert RollupMark.objects.exists() and not ServingRollup.objects.exists()

    # The broker is back: the periodic sweep sends a refresh, and it catches up.
    rollups_refresh_task.apply_async(queue=celery_worker.queue)
    _wait(lambda: not RollupMark.objects.exists(), what="the sweep to roll up")
    assert _snapshot() == _recomputed()


class _Proxy:
    """A TCP proxy in front of PostgreSQL that the test can cut and restore, so the
    shared server is never stopped."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = _closed_port()
        self._server: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def up(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(16)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def down(self) -> None:
        with self._lock:
            if self._server is not None:
                # shutdown wakes the thread blocked in accept(); close alone would not.
                with contextlib.suppress(OSError):
                    self._server.shutdown(socket.SHUT_RDWR)
                self._server.close()
                self._server = None
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass


def _post(url: str, key: str, body: list) -> tuple[int, dict, str | None]:
    data = json.dumps(body).encode()
    req = urlrequest.Request(
        url,
        data=data,
        headers={"Authorization": f"Token {key}", "Content-Type": "application/json"},
    )
    try:
        with urlrequest.urlopen(req, timeout=30) as response:
            return response.status, json.loads(response.read()), None
    except HTTPError as error:
        return error.code, json.loads(error.read() or b"{}"), error.headers.get("Retry-After")


def test_with_postgresql_unreachable_the_api_says_503_and_recovers_by_itself(
    serving, risk_team, tmp_path, t0
):
    _, key = api_token_create(team=risk_team)
    parts = urlsplit(_test_database_url())
    proxy = _Proxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    proxy.up()
    port = _closed_port()
    via_proxy = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": via_proxy, "ALLOWED_HOSTS": "127.0.0.1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/api/v1/events/"
    try:
        _wait(lambda: _listening(port), timeout=60, what="the web server")
        status, body, _ = _post(url, key, _rows(10, start=t0, prefix="p1"))
        assert (status, body) == (202, {"accepted": 10, "repeats": 0})

        proxy.down()
        status, body, retry_after = _post(url, key, _rows(10, start=t0, prefix="p2"))
        assert status == 503 and int(retry_after) > 0
        assert "retry later" in body["detail"]

        proxy.up()
        status, body, _ = _post(url, key, _rows(10, start=t0, prefix="p2"))
        assert (status, body) == (202, {"accepted": 10, "repeats": 0})
        assert ServingEvent.objects.count() == 20
    finally:
        server.terminate()
        server.wait(timeout=30)
        proxy.down()
        log.close()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
