"""A task really crosses the broker to a separate worker process, and its effect lands in
PostgreSQL where the web process can read it."""

from __future__ import annotations

import os
import time

import pytest
from amqp.exceptions import ChannelError
from django.db import connection

from kpiboard.celery import app as celery_app
from lifecycle.catalog.models import WorkerHeartbeat
from lifecycle.catalog.tasks import worker_heartbeat_record

pytestmark = [pytest.mark.services, pytest.mark.usefixtures("transactional_db", "through_broker")]


def _heartbeat_from(worker):
    def probe() -> WorkerHeartbeat | None:
        row = WorkerHeartbeat.objects.first()
        return row if row is not None and worker.owns_pid(row.pid) else None

    return probe


def _waiting_in(queue: str) -> int:
    with celery_app.connection_for_write() as conn:
        try:
            return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
        except ChannelError:  # Redis drops a queue's key once it is empty
            return 0


def test_the_worker_records_a_heartbeat_sent_through_the_broker(celery_worker, wait_for):
    worker_heartbeat_record.apply_async(queue=celery_worker.queue)

    row = wait_for(_heartbeat_from(celery_worker), what="the worker's heartbeat row")

    assert row.pid != os.getpid(), "the task ran in the test process, not in the worker"
    assert connection.vendor == "postgresql"


def test_a_task_sent_while_the_worker_is_down_runs_when_it_comes_back(celery_worker, wait_for):
    celery_worker.stop()
    try:
        worker_heartbeat_record.apply_async(queue=celery_worker.queue)
        time.sleep(1)
        assert _waiting_in(celery_worker.queue) == 1
        assert not WorkerHeartbeat.objects.exists()
    finally:
        celery_worker.start()

    row = wait_for(_heartbeat_from(celery_worker), what="the restarted worker's heartbeat")

    assert row.pid != os.getpid()
    assert _waiting_in(celery_worker.queue) == 0
