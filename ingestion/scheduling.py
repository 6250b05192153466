"""Derived work asked for once a transaction commits, sent by task name.

The services that store facts never import a tasks module: the tasks modules import the
services (a task is a thin wrapper around one), so the reverse would be an import cycle.
A signature by name resolves to the registered task (which runs it in process when tasks
are eager) and is sent to the broker as a message otherwise.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)

ROLLUPS_REFRESH_TASK = "ingestion.tasks.rollups_refresh_task"


def task_enqueue(*, name: str, args: tuple[Any, ...] = ()) -> bool:
    """Queue the task `name`; False (and a warning) when the broker cannot take it."""
    app = current_app
    if name not in app.tasks:
        # The app loads its installed apps' task modules, as a worker does at start, so
        # that eager mode (tests, in-process runs) finds the task instead of a broker.
        app.loader.import_default_modules()
    try:
        app.signature(name, args=args).apply_async(retry=False)
    except Exception:  # the broker is down: periodic sweeps catch up on derived work
        logger.warning("could not enqueue %s; its periodic sweep will do the work", name)
        return False
    return True


def rollups_schedule() -> None:
    """Ask for a rollup refresh once the current transaction (holding the events) commits.
    The marks it reads are committed with the events, so a refresh lost with the broker
    is made up by the minute sweep."""
    transaction.on_commit(lambda: task_enqueue(name=ROLLUPS_REFRESH_TASK))
