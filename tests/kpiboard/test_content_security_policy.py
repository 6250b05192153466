"""Every page sends a Content-Security-Policy that allows no inline script or style, and
no page needs one: no inline <script>, no on* handler, no inline <style> or style="..."."""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import User
from django.test import Client

from kpiboard.csp import plotly_style_hashes
from tests.kpiboard.site_pages import demo_site_seed, site_page_paths

# Not executed by the browser, so the policy allows them: how pages hand data to scripts.
_DATA_TYPES = {"application/json", "application/ld+json"}

POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}


class _InlineCode(HTMLParser):
    """Collects what a strict policy would block: inline scripts, handlers, inline styles."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name == "style":
                self.found.append(f'<{tag} style="{value}">')
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}={value}>")
        if tag == "style":
            self.found.append("<style> element")
        if tag == "script" and "src" not in named:
            kind = (named.get("type") or "").lower()
            if kind not in _DATA_TYPES:
                self._in_inline_script = True

    def handle_endtag(self, tag: str) -> None:
        self._in_inline_script = False

    def handle_data(self, data: str) -> None:
        if self._in_inline_script and data.strip():
            self.found.append(f"inline <script>: {data.strip()[:60]!r}")


def inline_code(html: str) -> list[str]:
    parser = _InlineCode()
    parser.feed(html)
    return parser.found


def policy_of(header: str) -> dict[str, list[str]]:
    directives = (part.strip().split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


@pytest.fixture
def site(db, now) -> dict[str, str]:
    demo_site_seed(now=now)
    return site_page_paths()


def problems_of(client: Client, path: str) -> list[str]:
    response = client.get(path)
    if response.status_code != 200:
        return [f"answered {response.status_code}"]
    problems = []
    header = response.get("Content-Security-Policy")
    if header is None:
        problems.append("no Content-Security-Policy header")
    else:
        policy = policy_of(header)
        styles = policy.pop("style-src", [])
        # Styles: our files, and by hash only the <style> elements plotly.js adds.
        if (
            policy != POLICY
            or styles[:1] != ["'self'"]
            or not all(source.startswith("'sha256-") for source in styles[1:])
        ):
            problems.append(f"policy {header!r}")
    problems += inline_code(response.content.decode())
    return problems


def test_every_page_sends_the_policy_and_has_no_inline_code(client, site):
    client.force_login(User.objects.get(username="admin"))

    problems = {name: problems_of(client, path) for name, path in site.items()}

    assert {name: found for name, found in problems.items() if found} == {}


def test_the_login_page_sends_the_policy_and_has_no_inline_code(client, db):
    assert problems_of(client, "/accounts/login/") == []


def test_the_admin_login_page_sends_the_policy_and_has_no_inline_code(client, site):
    # Anonymous visitors are sent to the site's login; a user who is not staff sees this one.
    client.force_login(User.objects.get(username="executive"))

    assert problems_of(client, "/admin/login/") == []


def test_the_api_docs_script_is_served_from_our_origin_as_javascript(client, site):
    client.force_login(User.objects.get(username="executive"))
    page = client.get("/api/docs/").content.decode()
    assert '<script src="/api/docs/?script="></script>' in page

    script = client.get("/api/docs/?script=")

    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()


def test_the_policy_parser_sees_what_the_policy_would_block():
    html = (
        '<script>alert(1)</script><script type="application/json">{}</script>'
        '<script src="/static/x.js"></script><a onclick="x()" href="javascript:y()">a</a>'
        '<p style="color: red"></p><style>p {}</style>'
    )

    assert inline_code(html) == [
        "inline <script>: 'alert(1)'",
        "<a onclick=...>",
        "<a href=javascript:y()>",
        '<p style="color: red">',
        "<style> element",
    ]


def test_the_style_hashes_cover_plotlys_empty_sheet_and_its_fixed_stylesheets(tmp_path):
    bundle = tmp_path / "plotly.min.js"
    bundle.write_text(
        'var t=document.createElement("style");t.id="abc",t.textContent=\'.map{left:0}\','
        "document.head.appendChild(t);"
    )

    assert plotly_style_hashes(script=bundle) == [
        "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",  # the empty text
        "'sha256-" + base64.b64encode(hashlib.sha256(b".map{left:0}").digest()).decode() + "'",
    ]
