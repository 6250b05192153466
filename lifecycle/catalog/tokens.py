"""API tokens: made once, shown once, stored as a hash, revocable, optionally expiring."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from lifecycle.catalog.models import ApiToken, Role, Team

TOKEN_PREFIX = "kpb"
# Touching last_used_at on every request would turn every read into a write.
_LAST_USED_RESOLUTION = timedelta(minutes=5)


def _key_hash(key: str) -> str:
    # The secret part has 256 bits of entropy, so a fast hash is enough: there is nothing
    # to brute-force the way there is with a password.
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_key_issue(token: ApiToken) -> str:
    """Give an unsaved token a fresh key; returns the key, which only its hash outlives."""
    token.prefix = secrets.token_hex(6)
    key = f"{TOKEN_PREFIX}_{token.prefix}_{secrets.token_urlsafe(32)}"
    token.key_hash = _key_hash(key)
    return key


def api_token_create(
    *,
    team: Team,
    role: Role = Role.MLOPS,
    name: str = "",
    expires_at: datetime | None = None,
    created_by: AbstractBaseUser | None = None,
) -> tuple[ApiToken, str]:
    """Make a token and return it with its key; the key is never retrievable again."""
    token = ApiToken(team=team, role=role, name=name, expires_at=expires_at, created_by=created_by)
    key = api_token_key_issue(token)
    token.save()
    return token, key


def api_token_authenticate(*, key: str, now: datetime | None = None) -> ApiToken | None:
    """The usable token this key belongs to, or None."""
    now = now or timezone.now()
    parts = key.split("_", 2)  # the secret itself may contain "_"
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    token = ApiToken.objects.usable(now).select_related("team").filter(prefix=parts[1]).first()
    if token is None or not hmac.compare_digest(token.key_hash, _key_hash(key)):
        return None
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def api_token_revoke(*, token: ApiToken, now: datetime | None = None) -> None:
    if token.revoked_at is None:
        token.revoked_at = now or timezone.now()
        token.save(update_fields=["revoked_at"])


def api_tokens_expire(*, now: datetime | None = None) -> int:
    """Mark expired tokens as revoked; returns how many."""
    now = now or timezone.now()
    return ApiToken.objects.filter(revoked_at__isnull=True, expires_at__lte=now).update(
        revoked_at=now
    )
