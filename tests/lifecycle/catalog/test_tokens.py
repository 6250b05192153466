from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from lifecycle.catalog.models import ApiToken, Role
from lifecycle.catalog.tokens import (
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
    api_tokens_expire,
)

pytestmark = pytest.mark.django_db


def test_it_stores_only_a_hash_of_the_key(risk_team):
    token, key = api_token_create(team=risk_team)
    stored = ApiToken.objects.get(pk=token.pk)
    assert key not in (stored.key_hash, stored.prefix, stored.name)
    assert key.split("_", 2)[2] not in stored.key_hash
    assert api_token_authenticate(key=key) == token


def test_it_rejects_a_key_with_a_wrong_secret(risk_team):
    _, key = api_token_create(team=risk_team)
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert api_token_authenticate(key=forged) is None


def test_it_rejects_a_revoked_token(risk_team):
    token, key = api_token_create(team=risk_team)
    api_token_revoke(token=token)
    assert api_token_authenticate(key=key) is None


def test_it_rejects_an_expired_token(risk_team, now):
    _, key = api_token_create(team=risk_team, expires_at=now + timedelta(hours=1))
    assert api_token_authenticate(key=key, now=now) is not None
    assert api_token_authenticate(key=key, now=now + timedelta(hours=2)) is None


def test_the_nightly_task_revokes_expired_tokens_only(risk_team, now):
    old, _ = api_token_create(team=risk_team, expires_at=now - timedelta(minutes=1))
    fresh, _ = api_token_create(team=risk_team, expires_at=now + timedelta(days=1))
    assert api_tokens_expire(now=now) == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.revoked_at is not None and fresh.revoked_at is None


def test_the_command_prints_a_working_key_once(risk_team):
    out, err = StringIO(), StringIO()
    call_command("create_api_token", "risk", "--role", "admin", stdout=out, stderr=err)
    key = out.getvalue().strip()
    token = api_token_authenticate(key=key)
    assert token is not None and token.role == Role.ADMIN and token.team == risk_team
    assert "not shown again" in err.getvalue()


def test_the_command_names_the_known_teams_for_an_unknown_one(risk_team):
    with pytest.raises(CommandError, match=r"No team named 'nope'\. Teams: risk"):
        call_command("create_api_token", "nope")
