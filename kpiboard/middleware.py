"""Nothing is reachable anonymously but login, /healthz and static files."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

# The API authenticates itself (tokens or session) and answers 401/403 as JSON, so the
# middleware leaves /api/ to DRF instead of redirecting machines to an HTML login page.
_OPEN_PREFIXES = ("/accounts/login/", "/healthz", "/api/")


class LoginRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        is_open = path.startswith(_OPEN_PREFIXES) or path.startswith(settings.STATIC_URL)
        if not is_open and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return self.get_response(request)
