"""Login throttling: wrong passwords lock a username+address pair for a while, on the
site's login page and on the admin's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from lifecycle.catalog.models import Role
from tests import factories

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture
def carol(db):
    return factories.user_make("carol", Role.EXECUTIVE, password="carol-password")


@pytest.fixture
def dave(db):
    return factories.user_make("dave", Role.MLOPS, password="dave-password")


def attempt(client: Client, username: str, password: str, *, url: str = LOGIN, **extra):
    return client.post(url, {"username": username, "password": password}, **extra)


def fail(client: Client, username: str, times: int, *, url: str = LOGIN, **extra) -> None:
    for _ in range(times):
        response = attempt(client, username, "wrong", url=url, **extra)
        assert response.status_code == 200, "locked out too early"


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_the_fifth_wrong_password_locks_and_says_for_how_long(client, carol):
    fail(client, "carol", 4)

    response = attempt(client, "carol", "wrong")

    assert response.status_code == 429
    page = response.content.decode()
    assert "Login locked" in page
    assert "locked for 15 minutes" in page


def test_a_right_password_during_the_lockout_is_refused(client, carol):
    fail(client, "carol", 5 - 1)
    attempt(client, "carol", "wrong")

    response = attempt(client, "carol", "carol-password")

    assert response.status_code == 429
    assert not logged_in(client)


def test_another_user_from_the_same_address_is_not_locked(client, carol, dave):
    fail(client, "carol", 4)
    assert attempt(client, "carol", "wrong").status_code == 429

    response = attempt(client, "dave", "dave-password")

    assert response.status_code == 302
    assert logged_in(client)


def test_the_same_user_from_another_address_is_not_locked(client, carol):
    fail(client, "carol", 4)
    assert attempt(client, "carol", "wrong").status_code == 429

    response = attempt(client, "carol", "carol-password", REMOTE_ADDR="198.51.100.7")

    assert response.status_code == 302


def test_a_success_resets_the_count(client, carol):
    fail(client, "carol", 4)
    assert attempt(client, "carol", "carol-password").status_code == 302
    client.post("/accounts/logout/")

    fail(client, "carol", 4)  # four more: with the count kept this would lock at the first

    assert attempt(client, "carol", "wrong").status_code == 429


def test_the_lock_lifts_after_the_cool_off(client, carol, now, time_machine):
    fail(client, "carol", 4)
    assert attempt(client, "carol", "wrong").status_code == 429

    time_machine.move_to(now + timedelta(minutes=14), tick=False)
    assert attempt(client, "carol", "carol-password").status_code == 429

    # The refused attempt at minute 14 started the wait again.
    time_machine.move_to(now + timedelta(minutes=14 + 16), tick=False)
    assert attempt(client, "carol", "carol-password").status_code == 302


def test_the_admin_login_is_reached_only_through_the_throttled_login_page(client):
    response = client.get(ADMIN_LOGIN)

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_the_admin_login_is_throttled_too(client, carol, dave):
    # A logged-in user who is not staff sees the admin's own login form, for another account.
    client.force_login(carol)
    fail(client, "dave", 4, url=ADMIN_LOGIN)

    assert attempt(client, "dave", "wrong", url=ADMIN_LOGIN).status_code == 429
    assert attempt(client, "dave", "dave-password", url=ADMIN_LOGIN).status_code == 429
    assert client.session["_auth_user_id"] == str(carol.pk)


def test_failures_on_both_login_pages_add_up(client, carol, dave):
    fail(client, "dave", 2)
    client.force_login(carol)
    fail(client, "dave", 2, url=ADMIN_LOGIN)

    assert attempt(client, "dave", "wrong", url=ADMIN_LOGIN).status_code == 429
    client.logout()
    assert attempt(client, "dave", "dave-password").status_code == 429


def test_the_limit_and_the_cool_off_come_from_the_settings(client, carol, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=3)
    fail(client, "carol", 1)

    response = attempt(client, "carol", "wrong")

    assert response.status_code == 429
    assert "locked for 3 minutes" in response.content.decode()


def test_without_a_proxy_a_forged_forwarded_for_does_not_change_the_address(client, carol):
    for n in range(4):
        response = attempt(client, "carol", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
        assert response.status_code == 200

    response = attempt(client, "carol", "wrong", HTTP_X_FORWARDED_FOR="203.0.113.99")

    assert response.status_code == 429


def test_behind_a_proxy_the_address_the_proxy_appended_counts(client, carol, settings):
    settings.KPIBOARD_PROXY_COUNT = 1
    # What the client wrote comes first; the proxy appended the address it saw.
    fail(client, "carol", 4, HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.5")
    assert attempt(client, "carol", "wrong", HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 429

    # Another client behind the same proxy (one REMOTE_ADDR for all) is not locked.
    elsewhere = attempt(
        client, "carol", "carol-password", HTTP_X_FORWARDED_FOR="203.0.113.5, 198.51.100.7"
    )

    assert elsewhere.status_code == 302
