"""What /healthz reports: can we reach the database and the broker, and is a worker alive."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from kpiboard.celery import app as celery_app
from lifecycle.catalog.models import WorkerHeartbeat

# The heartbeat runs every minute; three missed beats mean the worker is gone.
WORKER_STALE_AFTER = timedelta(minutes=3)


def _database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:  # any driver error means "not reachable"
        return {"ok": False, "vendor": connection.vendor, "error": str(exc).strip()}


def _broker() -> dict[str, Any]:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            transport = conn.transport_cls
        return {"ok": True, "transport": str(transport)}
    except Exception as exc:
        return {"ok": False, "error": str(exc).strip()}


def _worker(database_ok: bool) -> dict[str, Any]:
    if not database_ok:
        return {"alive": None}
    latest = WorkerHeartbeat.objects.order_by("-beat_at").first()
    if latest is None:
        return {
            "alive": False,
            "last_heartbeat": None,
            "note": "no worker heartbeat yet; a running worker with beat records one every minute",
        }
    return {
        "alive": timezone.now() - latest.beat_at < WORKER_STALE_AFTER,
        "last_heartbeat": latest.beat_at.isoformat(),
        "hostname": latest.hostname,
    }


def health_report() -> dict[str, Any]:
    database = _database()
    broker = _broker()
    # A missing worker delays rollups but loses nothing, so it is reported, not fatal.
    return {
        "ok": database["ok"] and broker["ok"],
        "database": database,
        "broker": broker,
        "worker": _worker(database["ok"]),
    }
