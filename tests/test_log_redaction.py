"""An API key sent as `?token=` (KServe's logger) never reaches a log line or error mail."""

import io
import logging
from contextlib import contextmanager
from unittest import mock

import pytest
from django.core import mail
from django.test import override_settings

from kpiboard.logs import secret_redact
from lifecycle.catalog.tokens import api_token_create

pytestmark = pytest.mark.django_db


@contextmanager
def _console():
    """What the configured console handler (the one every logger ends in) writes."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


@pytest.fixture
def key(risk_team):
    return api_token_create(team=risk_team)[1]


def test_it_redacts_the_key_from_a_request_line_as_runserver_logs_it(key):
    with _console() as stream:
        logging.getLogger("django.server").warning(
            '"%s" %s %s', f"POST /api/v1/kserve/?a=1&token={key} HTTP/1.1", "400", "83"
        )
    line = stream.getvalue()
    assert "/api/v1/kserve/?a=1&token=[redacted] HTTP/1.1" in line
    assert key not in line


def test_a_4xx_logged_by_django_request_holds_no_key(client, key):
    with _console() as stream:
        response = client.post(
            f"/api/v1/kserve/?token={key}", b"{}", content_type="application/json"
        )
    assert response.status_code == 400
    assert "Bad Request: /api/v1/kserve/" in stream.getvalue()
    assert key not in stream.getvalue()


@override_settings(ADMINS=[("ops", "ops@example.com")], DEBUG=False)
def test_the_error_mail_of_a_5xx_holds_no_key(client, key, fraud_scorer):
    client.raise_request_exception = False
    with (
        mock.patch("ingestion.api.kserve_message_ingest", side_effect=RuntimeError("boom")),
        _console() as stream,
    ):
        response = client.post(
            f"/api/v1/kserve/?token={key}", b"{}", content_type="application/json"
        )
    assert response.status_code == 500
    assert "Internal Server Error: /api/v1/kserve/" in stream.getvalue()
    assert key not in stream.getvalue()
    (message,) = mail.outbox
    report = message.body + "".join(str(a[1]) for a in message.alternatives)
    assert "RuntimeError" in report and "[redacted]" in report
    assert key not in report


def test_it_redacts_a_token_header_and_leaves_other_text_alone():
    text = 'GET /x?token=kpb_abc&page=2 "Authorization: Token kpb_def" tokens=3'
    assert secret_redact(text=text) == (
        'GET /x?token=[redacted]&page=2 "Authorization: Token [redacted]" tokens=3'
    )
