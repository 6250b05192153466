"""The registry HTTP client's fences, against a real local HTTP server misbehaving."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ingestion.registry.http import HttpLimits, RegistryError, auth_header, json_get

SEEN_HEADERS: list[dict[str, str]] = []


class Misbehaving(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def _send(
        self, status: int, body: bytes, content_type: str = "application/json", **headers: str
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        SEEN_HEADERS.append(dict(self.headers))
        path = self.path.split("?")[0]
        if path.endswith("/ok"):
            self._send(200, json.dumps({"registered_models": []}).encode())
        elif path.endswith("/redirect"):
            self._send(302, b"", Location="http://127.0.0.1:1/elsewhere")
        elif path.endswith("/html"):
            self._send(200, b"<html>login</html>", "text/html")
        elif path.endswith("/big"):
            self._send(200, json.dumps({"x": "y" * 5000}).encode())
        elif path.endswith("/slow"):
            time.sleep(1.5)
            with contextlib.suppress(BrokenPipeError):  # the client gave up first, as it should
                self._send(200, b"{}")
        elif path.endswith("/error"):
            self._send(
                404,
                json.dumps(
                    {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no such model"}
                ).encode(),
            )
        else:
            self._send(200, b"[1, 2]")


@pytest.fixture(scope="module")
def local_server() -> Iterator[str]:
    server = None
    for port in range(8140, 8150):
        try:
            server = ThreadingHTTPServer(("127.0.0.1", port), Misbehaving)
            break
        except OSError:
            continue
    assert server is not None, "no free port in 8140-8149"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def allowed(settings):
    settings.KPIBOARD_REGISTRY_ALLOWED_HOSTS = ["127.0.0.1"]


LIMITS = HttpLimits(connect_timeout=2, read_timeout=0.5, total_timeout=5, max_bytes=1000)


def test_it_reads_a_json_object_and_sends_the_credentials(local_server):
    answer = json_get(
        base_url=local_server,
        path="/ok",
        authorization=auth_header(username="", secret="tok"),
        limits=LIMITS,
    )
    assert answer == {"registered_models": []}
    assert SEEN_HEADERS[-1]["Authorization"] == "Bearer tok"


def test_it_follows_no_redirect(local_server):
    with pytest.raises(RegistryError, match="redirect"):
        json_get(base_url=local_server, path="/redirect", limits=LIMITS)


def test_it_takes_only_json(local_server):
    with pytest.raises(RegistryError, match="text/html, not JSON"):
        json_get(base_url=local_server, path="/html", limits=LIMITS)
    with pytest.raises(RegistryError, match="not an object"):
        json_get(base_url=local_server, path="/array", limits=LIMITS)


def test_it_refuses_an_answer_over_the_size_cap(local_server):
    with pytest.raises(RegistryError, match="1000 cap"):
        json_get(base_url=local_server, path="/big", limits=LIMITS)


def test_a_slow_answer_hits_the_read_timeout(local_server):
    with pytest.raises(RegistryError, match="timed out"):
        json_get(base_url=local_server, path="/slow", limits=LIMITS)


def test_an_error_answer_names_mlflows_code_and_never_the_secret(local_server):
    with pytest.raises(RegistryError) as error:
        json_get(base_url=local_server, path="/error", authorization="Bearer s3cret", limits=LIMITS)
    assert "404" in str(error.value) and "RESOURCE_DOES_NOT_EXIST" in str(error.value)
    assert "s3cret" not in str(error.value)


def test_a_host_the_operator_did_not_allow_is_never_contacted(local_server, settings):
    settings.KPIBOARD_REGISTRY_ALLOWED_HOSTS = ["mlflow.internal"]
    before = len(SEEN_HEADERS)
    with pytest.raises(RegistryError, match="not in KPIBOARD_REGISTRY_ALLOWED_HOSTS"):
        json_get(base_url=local_server, path="/ok", limits=LIMITS)
    assert len(SEEN_HEADERS) == before


def test_with_no_allow_list_no_registry_is_reachable(local_server, settings, monkeypatch):
    settings.KPIBOARD_REGISTRY_ALLOWED_HOSTS = None
    monkeypatch.delenv("KPIBOARD_REGISTRY_ALLOWED_HOSTS", raising=False)
    with pytest.raises(RegistryError, match="not in KPIBOARD_REGISTRY_ALLOWED_HOSTS"):
        json_get(base_url=local_server, path="/ok", limits=LIMITS)
