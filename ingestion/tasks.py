"""Celery tasks of ingestion: thin wrappers around one service each, safe to run twice."""

from __future__ import annotations

from pathlib import Path

from celery import shared_task
from django.conf import settings

from ingestion.faults import fault_point
from ingestion.kserve import kserve_pending_expire
from ingestion.logfiles import serving_logs_scan
from ingestion.retention import events_prune, five_minute_rollups_prune
from ingestion.rollups import rollups_refresh


@shared_task(name="ingestion.tasks.rollups_refresh_task")
def rollups_refresh_task() -> int:
    done = rollups_refresh(max_marks=settings.KPIBOARD_ROLLUP_BATCH_MARKS, wait=False)
    # Fault tests stop the worker here: the rollups are committed but the message is not
    # yet acknowledged, so the broker redelivers it and the rerun must change nothing.
    fault_point("after_write")
    return done


@shared_task(name="ingestion.tasks.serving_logs_scan_task")
def serving_logs_scan_task() -> int:
    folder = getattr(settings, "KPIBOARD_SERVING_LOG_DIR", None)
    if not folder:
        return 0
    return sum(s.accepted for s in serving_logs_scan(folder=Path(folder)))


@shared_task(name="ingestion.tasks.kserve_pending_expire_task")
def kserve_pending_expire_task() -> int:
    return kserve_pending_expire()


@shared_task(name="ingestion.tasks.events_prune_task")
def events_prune_task() -> int:
    return events_prune()


@shared_task(name="ingestion.tasks.five_minute_rollups_prune_task")
def five_minute_rollups_prune_task() -> int:
    return five_minute_rollups_prune()
