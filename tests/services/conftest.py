"""The services suite: a real Celery worker process on the real broker and PostgreSQL.

It runs only when DATABASE_URL is set (`make test` runs the whole suite a second time that
way). Without it, or when PostgreSQL or the broker cannot be reached, these tests are
skipped with the reason, except on CI (CI=true), where a missing service is a failure.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from kpiboard.celery import app as celery_app

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
WORKER_START_TIMEOUT_S = 60
WORKER_STOP_TIMEOUT_S = 30


def services_missing(reason: str) -> None:
    """Skip on a developer's machine; fail on CI, where the services must be there."""
    if IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def _broker_reason() -> str | None:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:  # any transport error means "not reachable"
        return f"the broker at {celery_app.conf.broker_url} is not reachable ({exc})"
    return None


@pytest.fixture(scope="session")
def services(request: pytest.FixtureRequest) -> None:
    """PostgreSQL from DATABASE_URL and a broker that is not the embedded filesystem one."""
    if not os.environ.get("DATABASE_URL"):
        services_missing(
            "DATABASE_URL is not set: the services tests need PostgreSQL, a broker and a "
            "worker (`make test` runs them in its second suite)"
        )
    if celery_app.conf.broker_url.startswith("filesystem"):
        services_missing("CELERY_BROKER_URL is not set to Redis or RabbitMQ")
    reason = _broker_reason()
    if reason:
        services_missing(reason)
    try:
        request.getfixturevalue("django_db_setup")
    except Exception as exc:
        services_missing(f"the test database could not be set up ({exc})")


def _test_database_url() -> str:
    """DATABASE_URL with its database swapped for pytest-django's test database, so the
    worker writes where the tests read (options such as sslmode are kept)."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


class WorkerProcess:
    """A `celery -A kpiboard worker` subprocess consuming one queue of its own, so runs
    that share a broker (or messages left by an aborted run) cannot reach it."""

    def __init__(self, *, log_dir: Path) -> None:
        run = uuid.uuid4().hex[:8]
        self.queue = f"kpiboard-test-{run}"
        self.hostname = f"kpiboard-test-{run}@{os.uname().nodename}"
        self.log_path = log_dir / f"worker-{run}.log"
        self.env = {**os.environ, "DATABASE_URL": _test_database_url(), "PYTHONUNBUFFERED": "1"}
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "the worker is not running"
        return self.process.pid

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "kpiboard",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "1",
            "--queues",
            self.queue,
            "--hostname",
            self.hostname,
            # No waiting for other workers to sync with: there are none.
            "--without-mingle",
            "--without-gossip",
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=settings.BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_it_answers()

    def _wait_until_it_answers(self) -> None:
        deadline = time.monotonic() + WORKER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"the Celery worker exited with code {self.process.returncode}:\n"
                    + self.log_tail(),
                    pytrace=False,
                )
            if celery_app.control.ping(destination=[self.hostname], timeout=1.0):
                return
        self.stop()
        pytest.fail(
            f"the Celery worker did not answer a ping in {WORKER_START_TIMEOUT_S}s:\n"
            + self.log_tail(),
            pytrace=False,
        )

    def stop(self) -> None:
        """Warm shutdown: the worker finishes what it is running, then exits."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=WORKER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no worker log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def owns_pid(self, pid: int) -> bool:
        """True for the worker process itself or one of its pool processes."""
        if pid == self.pid:
            return True
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return False
        ppid = next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:"))
        return int(ppid) == self.pid


@pytest.fixture(scope="session")
def celery_worker(
    services: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    """One real worker for the session, started after the test database exists and
    stopped before it is dropped (PostgreSQL will not drop a database in use)."""
    worker = WorkerProcess(log_dir=tmp_path_factory.mktemp("celery"))
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def through_broker() -> Iterator[None]:
    """Tasks go through the broker instead of running in the test process."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = eager


@pytest.fixture
def wait_for() -> Callable[..., object]:
    """wait_for(probe, timeout=30, what="...") -> the first truthy value probe returns."""

    def wait(probe: Callable[[], object], *, timeout: float = 30.0, what: str) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            time.sleep(0.2)
        pytest.fail(f"timed out after {timeout}s waiting for {what}", pytrace=False)

    return wait
