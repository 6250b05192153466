"""The Celery app and, in one place, every periodic task with its cadence in words."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kpiboard.settings")

app = Celery("kpiboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["ingestion.registry"])  # registry polling lives in a sub-package

app.conf.beat_schedule = {
    # Every minute: the worker records that it is alive, so /healthz and the pages can
    # say when background work last ran (and show a stale worker at once).
    "worker-heartbeat-every-minute": {
        "task": "lifecycle.catalog.tasks.worker_heartbeat_record",
        "schedule": 60.0,
    },
    # Nightly at 03:15 UTC: revoke API tokens whose expiry has passed, so the admin
    # list shows them as expired and they stop authenticating even if clocks drift.
    "api-tokens-expire-nightly": {
        "task": "lifecycle.catalog.tasks.api_tokens_expire",
        "schedule": crontab(hour=3, minute=15),
    },
    # Every minute: roll up whatever events are still marked stale. Pushes enqueue a
    # refresh themselves; this sweep catches up after the broker or a worker was down.
    "rollups-refresh-every-minute": {
        "task": "ingestion.tasks.rollups_refresh_task",
        "schedule": 60.0,
    },
    # Every minute: read what is new in the serving-log folder (KPIBOARD_SERVING_LOG_DIR).
    "serving-logs-scan-every-minute": {
        "task": "ingestion.tasks.serving_logs_scan_task",
        "schedule": 60.0,
    },
    # Every minute: join KServe request/response pairs that crossed, and turn requests
    # unanswered past KPIBOARD_KSERVE_RESPONSE_TIMEOUT_SECONDS into errors of class "other".
    "kserve-pending-expire-every-minute": {
        "task": "ingestion.tasks.kserve_pending_expire_task",
        "schedule": 60.0,
    },
    # Nightly at 02:30 UTC: delete raw serving events older than
    # KPIBOARD_EVENT_RETENTION_DAYS (when set); their rollups keep the KPIs.
    "serving-events-prune-nightly": {
        "task": "ingestion.tasks.events_prune_task",
        "schedule": crontab(hour=2, minute=30),
    },
    # Nightly at 02:40 UTC: delete 5-minute latency rollups older than
    # KPIBOARD_FIVE_MINUTE_ROLLUP_DAYS; older windows' charts are drawn by hour.
    "five-minute-rollups-prune-nightly": {
        "task": "ingestion.tasks.five_minute_rollups_prune_task",
        "schedule": crontab(hour=2, minute=40),
    },
    # Every minute: queue a poll of each model registry whose own schedule (or backoff
    # after a failure) says it is due; each registry polls in its own task.
    "registries-poll-due-every-minute": {
        "task": "ingestion.registry.tasks.registries_poll_due",
        "schedule": 60.0,
    },
}
