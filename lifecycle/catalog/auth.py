"""DRF authentication by `Authorization: Token <key>`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from lifecycle.catalog.models import ApiToken, Team
from lifecycle.catalog.tokens import api_token_authenticate


@dataclass(frozen=True)
class TokenPrincipal:
    """Who a token request acts as: the token's team, with the token's role."""

    token: ApiToken

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    pk = None
    id = None

    @property
    def team(self) -> Team:
        return self.token.team

    @property
    def role(self) -> str:
        return self.token.role

    @property
    def is_superuser(self) -> bool:
        return False

    @property
    def username(self) -> str:
        return f"token:{self.token.prefix}"

    def get_username(self) -> str:
        return self.username

    def __str__(self) -> str:
        return f"API token {self.token.prefix}… of {self.token.team.name}"


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[TokenPrincipal, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() != self.keyword.lower():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Invalid Authorization header: expected 'Token <key>'."
            )
        token = api_token_authenticate(key=header[1])
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired API token.")
        return TokenPrincipal(token), token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def principal_token_id(principal: Any) -> int | None:
    """The id of the API token a request acts through, recorded on what a push stores as
    `pushed_by`; None for a session's user and the in-process sources."""
    return principal.token.pk if isinstance(principal, TokenPrincipal) else None
