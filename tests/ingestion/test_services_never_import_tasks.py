"""The write path's services never import a Celery tasks module: the tasks import the
services (each task wraps one), so the reverse would be an import cycle, hidden or not."""

from __future__ import annotations

import ast
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import ingestion

# Entry points and wiring, not services: views may queue a task, tasks wrap services.
NOT_SERVICES = {"tasks", "api", "urls", "schema", "migrations", "management", "admin"}
ROOT = Path(ingestion.__file__).resolve().parent.parent


def _service_modules() -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.walk_packages(ingestion.__path__, "ingestion.")
        if NOT_SERVICES.isdisjoint(info.name.split("."))
    )


def _is_tasks_module(name: str) -> bool:
    return name == "tasks" or name.endswith(".tasks")


def test_it_finds_the_services_it_checks():
    modules = _service_modules()
    assert {"ingestion.events", "ingestion.rollups", "ingestion.registry.events"} <= set(modules)
    assert not any(_is_tasks_module(m) for m in modules)


def test_importing_every_service_in_a_fresh_interpreter_loads_no_tasks_module():
    script = (
        "import importlib, json, sys, django\n"
        "django.setup()\n"
        f"for name in {_service_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'ingestion', 'lifecycle', 'kpiboard'} and m.split('.')[-1] == 'tasks')))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kpiboard.settings"}
    env.pop("DATABASE_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_no_service_imports_a_tasks_module_even_inside_a_function():
    """A lazy import inside a function is the cycle still, only hidden from the check
    above until the function runs."""
    found = []
    for name in _service_modules():
        path = ROOT / (name.replace(".", "/") + ".py")
        if not path.exists():
            path = ROOT / name.replace(".", "/") / "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                imported = [a.name for a in node.names]
            else:
                continue
            found += [f"{name}:{node.lineno} {m}" for m in imported if _is_tasks_module(m)]
    assert found == []
