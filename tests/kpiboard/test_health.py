import pytest
from django.urls import reverse

from lifecycle.catalog.tasks import worker_heartbeat_record

pytestmark = pytest.mark.django_db


def test_healthz_is_open_and_reports_database_and_broker(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["database"]["ok"] is True and body["broker"]["ok"] is True
    assert body["worker"]["alive"] is False and body["worker"]["last_heartbeat"] is None


def test_healthz_shows_a_live_worker_after_a_heartbeat(client):
    worker_heartbeat_record.delay()
    assert client.get(reverse("healthz")).json()["worker"]["alive"] is True


def test_healthz_is_503_when_the_broker_is_unreachable(client, monkeypatch):
    # A real connection attempt to a closed port (Celery prefers CELERY_BROKER_URL from
    # the environment over app.conf, so the connection itself is swapped).
    from kombu import Connection

    from kpiboard.celery import app

    monkeypatch.setattr(app, "connection_for_write", lambda: Connection("redis://127.0.0.1:1/0"))
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False


def test_the_admin_and_api_docs_need_a_login(client):
    assert client.get("/admin/").status_code == 302
    assert client.get(reverse("api-docs")).status_code in (401, 403)
