"""Celery tasks of ingestion: thin wrappers around one service each, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from ingestion.rollups import fault_point, rollups_refresh


@shared_task(name="ingestion.tasks.rollups_refresh_task")
def rollups_refresh_task() -> int:
    done = rollups_refresh()
    # Fault tests stop the worker here: the rollups are committed but the message is not
    # yet acknowledged, so the broker redelivers it and the rerun must change nothing.
    fault_point("after_write")
    return done
