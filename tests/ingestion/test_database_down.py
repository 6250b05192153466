"""With PostgreSQL unreachable the push API answers 503 with Retry-After, never 500.

Runs the real request path in a child process whose DATABASE_URL points at a closed
port on this machine (the shared PostgreSQL is never stopped).
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_SCRIPT = """
import django, json
django.setup()
from django.test import Client
from django.conf import settings
settings.ALLOWED_HOSTS = ["testserver"]
client = Client(HTTP_AUTHORIZATION="Token kpb_0123456789ab_secret")
response = client.post("/api/v1/events/", "[]", content_type="application/json",
                       secure=True)
print(json.dumps({"status": response.status_code, "retry": response.get("Retry-After"),
                  "body": response.content.decode()}))
"""


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_push_with_the_database_down_is_503_with_retry_after():
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{_closed_port()}/kpiboard",
        "SECRET_KEY": "x" * 50,
        "ALLOWED_HOSTS": "testserver",
        "CELERY_BROKER_URL": "memory://",
        "DJANGO_SETTINGS_MODULE": "kpiboard.settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["status"] == 503, done.stdout + done.stderr
    assert int(answer["retry"]) > 0
    assert "retry later" in answer["body"]
