from __future__ import annotations

import os
import socket

from celery import shared_task
from django.utils import timezone

from lifecycle.catalog.models import WorkerHeartbeat
from lifecycle.catalog.tokens import api_tokens_expire as _api_tokens_expire


def worker_heartbeat_save(*, hostname: str, pid: int) -> WorkerHeartbeat:
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"pid": pid, "beat_at": timezone.now()}
    )
    return heartbeat


@shared_task(bind=True, name="lifecycle.catalog.tasks.worker_heartbeat_record")
def worker_heartbeat_record(self) -> int:
    """Record that this worker is alive; returns its pid. Keyed by the Celery node name
    (celery@host), so several workers on one host each keep their own row."""
    worker_heartbeat_save(hostname=self.request.hostname or socket.gethostname(), pid=os.getpid())
    return os.getpid()


@shared_task(name="lifecycle.catalog.tasks.api_tokens_expire")
def api_tokens_expire() -> int:
    return _api_tokens_expire()
