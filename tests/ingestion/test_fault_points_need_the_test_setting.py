"""Fault injection fires only under the services tests' own settings module: in the
project's settings the environment variables alone do nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import ingestion

ROOT = Path(ingestion.__file__).resolve().parent.parent
# The task module's own name for it, the same before and after it moved.
SCRIPT = (
    "import django\n"
    "django.setup()\n"
    "from ingestion.tasks import fault_point\n"
    "fault_point('after_write')\n"
    "print('alive')\n"
)


def _run_armed(tmp_path: Path, settings_module: str) -> tuple[subprocess.CompletedProcess, Path]:
    once = tmp_path / "fault-once"
    once.write_text("armed")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "KPIBOARD_FAULT_POINT": "after_write",
        "KPIBOARD_FAULT_ONCE_FILE": str(once),
    }
    env.pop("DATABASE_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done, once


def test_it_ignores_the_fault_variables_under_the_project_settings(tmp_path):
    done, once = _run_armed(tmp_path, "kpiboard.settings")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("alive")
    assert once.exists()


def test_it_kills_the_process_once_under_the_fault_tests_settings(tmp_path):
    done, once = _run_armed(tmp_path, "tests.services.fault_settings")
    assert done.returncode == -signal.SIGKILL
    assert not once.exists()
