"""Every page in headless Chromium under the Content-Security-Policy: no console error,
no policy violation, and every chart draws.

KPIBOARD_SCREENSHOTS=<folder> saves a full-page screenshot of each page there.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright

from demo.users import DEMO_PASSWORD
from tests.browser.test_portfolio_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS
from tests.kpiboard.site_pages import demo_site_seed, site_page_paths

pytestmark = pytest.mark.browser

# Recorded before any page script runs; Playwright's init scripts are not subject to the CSP.
_RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


@pytest.fixture
def site(transactional_db) -> dict[str, str]:
    demo_site_seed(now=timezone.now())
    return site_page_paths()


@pytest.fixture
def browser_page(live_server, settings) -> Iterator[tuple[Page, list[str]]]:
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(
                base_url=live_server.url, viewport={"width": 1400, "height": 900}
            )
            context.set_default_timeout(TIMEOUT_MS)
            context.add_init_script(_RECORD_VIOLATIONS)
            page = context.new_page()
            errors: list[str] = []

            def on_console(message: ConsoleMessage) -> None:
                if message.type == "error" or "Content Security Policy" in message.text:
                    errors.append(f"console {message.type}: {message.text}")

            page.on("console", on_console)
            page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
            page.on(
                "response",
                lambda r: r.status >= 400 and errors.append(f"{r.url} answered {r.status}"),
            )
            yield page, errors
        finally:
            browser.close()


def screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("KPIBOARD_SCREENSHOTS")
    if folder:
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower())
        page.screenshot(path=Path(folder) / f"{slug}.png", full_page=True)


def problems_on(page: Page, errors: list[str], name: str, path: str) -> list[str]:
    errors.clear()
    response = page.goto(path)
    page.wait_for_load_state("networkidle")
    problems = [] if response.ok else [f"answered {response.status}"]
    if "content-security-policy" not in response.headers:
        problems.append("no Content-Security-Policy header")
    figures = page.locator("[data-figure]")
    try:
        expect(page.locator("[data-figure][data-rendered=true]")).to_have_count(figures.count())
    except AssertionError:
        problems.append("a chart did not draw")
    if name == "api docs":
        try:
            expect(page.locator(".opblock").first).to_be_visible()
        except AssertionError:
            problems.append("Swagger UI listed no operation")
    screenshot(page, name)
    return problems + errors + page.evaluate("window.__violations")


def test_every_page_loads_without_a_console_error_or_a_policy_violation(site, browser_page):
    page, errors = browser_page
    problems = {"login": problems_on(page, errors, "login", "/accounts/login/")}
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#models-table")).to_be_visible()

    problems |= {name: problems_on(page, errors, name, path) for name, path in site.items()}
    # plotly styles its tooltips through the style element the policy allows by hash.
    page.goto(site["portfolio"])
    bar = page.locator("[data-figure][data-rendered=true] .bars path").first
    bar.hover(force=True)  # plotly's drag layer above the bars takes the pointer
    expect(page.locator(".hoverlayer .hovertext").first).to_be_visible()
    screenshot(page, "portfolio tooltip")

    failures = [f"{name}: {found}" for name, found in problems.items() for found in found]
    assert not failures, "\n".join(failures)
