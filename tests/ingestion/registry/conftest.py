"""A real `mlflow server` for the registry tests: 127.0.0.1 on ports 5140-5149, a
throw-away SQLite backend and artifact folder in a temporary directory.

Without MLflow installed these tests skip, except under CI=true where they must run and
fail if they cannot: MLflow is a test extra, so its absence there is a broken setup.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PORTS = range(5140, 5150)
STARTUP_SECONDS = 90


def mlflow_required() -> None:
    try:
        import mlflow  # noqa: F401
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("MLflow is not installed but CI=true: install the test extra")
        pytest.skip("MLflow is not installed (pip install -e '.[test]')")


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    for port in PORTS:
        if _port_free(port):
            return port
    raise RuntimeError("no free port in 5140-5149 for an MLflow server")


@dataclass
class MlflowServer:
    db_path: Path
    artifacts: Path
    log_path: Path
    port: int
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MlflowServer:
        mlflow_bin = Path(sys.executable).with_name("mlflow")
        env = {
            **os.environ,
            # The job runner (huey consumers) is not needed for the registry and slows
            # the start down.
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            **self.env,
        }
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                str(mlflow_bin),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--backend-store-uri",
                f"sqlite:///{self.db_path}",
                "--default-artifact-root",
                str(self.artifacts),
                "--workers",
                "1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            # Its own process group, so stop() ends uvicorn and every child it spawned.
            start_new_session=True,
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"mlflow server did not start: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)

    def kill(self) -> None:
        """Stop at once, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)

    def client(self):  # -> mlflow.MlflowClient
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.url, registry_uri=self.url)


@pytest.fixture(scope="session")
def mlflow_template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow database, made once: copying it spares every server the schema
    creation, which is most of its start-up time."""
    mlflow_required()
    folder = tmp_path_factory.mktemp("mlflow-template")
    server = MlflowServer(
        db_path=folder / "mlflow.db",
        artifacts=folder / "artifacts",
        log_path=folder / "server.log",
        port=free_port(),
    )
    server.start()
    server.stop()
    return server.db_path


def _server_make(template: Path, folder: Path, env: dict[str, str] | None) -> MlflowServer:
    folder.mkdir(parents=True, exist_ok=True)
    db_path = folder / "mlflow.db"
    shutil.copyfile(template, db_path)
    return MlflowServer(
        db_path=db_path,
        artifacts=folder / "artifacts",
        log_path=folder / "server.log",
        port=free_port(),
        env=env or {},
    ).start()


@pytest.fixture
def mlflow_server(mlflow_template_db: Path, tmp_path: Path) -> Iterator:
    """mlflow_server(env=None) -> a fresh, running server; all are stopped afterwards."""
    started: list[MlflowServer] = []

    def make(env: dict[str, str] | None = None) -> MlflowServer:
        server = _server_make(mlflow_template_db, tmp_path / f"mlflow-{len(started)}", env)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def shared_mlflow_server(
    mlflow_template_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MlflowServer]:
    """One server for a module whose tests each use their own model names."""
    server = _server_make(mlflow_template_db, tmp_path_factory.mktemp("mlflow-shared"), None)
    yield server
    server.stop()


@pytest.fixture
def registry_hosts_allowed(settings) -> None:
    settings.KPIBOARD_REGISTRY_ALLOWED_HOSTS = ["127.0.0.1"]
