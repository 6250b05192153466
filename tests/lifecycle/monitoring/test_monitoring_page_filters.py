"""The monitoring page refuses a filter it cannot apply, as the other pages do."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_it_answers_400_naming_a_window_it_does_not_know(alice):
    client = Client()
    client.force_login(alice)
    page = client.get("/monitoring/?window=2y")
    assert page.status_code == 400
    html = page.content.decode()
    assert 'role="alert"' in html and "<b>window</b>" in html


def test_it_answers_200_for_a_window_it_knows(alice):
    client = Client()
    client.force_login(alice)
    assert client.get("/monitoring/?window=30d").status_code == 200
