"""The portfolio page in a real browser: an executive logs in, sees the models and the
charts, and the filter bar's toggles change what the page shows and what its URL says.

Runs in both suites: live_server works on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import functools
import re
import tempfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Locator, Page, expect, sync_playwright

from ingestion.rollups import rollups_rebuild
from lifecycle.catalog.models import Role, ServingEvent, ServingMode
from tests import factories

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000


@pytest.fixture
def portfolio(transactional_db, now):
    """fraud-scorer (payments, streaming): 3 events in the last day, 2 twenty days ago.
    recommender (ecommerce, batch): 4 in the last day, 6 twenty days ago.
    Both in production; alice is an executive."""
    fraud = factories.model_make(
        "fraud-scorer",
        industry=factories.industry_make("payments"),
        serving_mode=ServingMode.STREAMING,
    )
    recommender = factories.model_make(
        "recommender",
        team=factories.team_make("growth", "Marketing"),
        industry=factories.industry_make("ecommerce"),
        serving_mode=ServingMode.BATCH,
    )
    events = []
    for model, recent, older in ((fraud, 3, 2), (recommender, 4, 6)):
        version = factories.version_make(model)
        factories.deployment_make(
            version,
            endpoint=factories.endpoint_make(f"{model.name}-endpoint"),
            started_at=now - timedelta(days=40),
        )
        events += [
            factories.event_build(version, timestamp=now - timedelta(hours=1 + i))
            for i in range(recent)
        ]
        events += [
            factories.event_build(version, timestamp=now - timedelta(days=20, hours=i))
            for i in range(older)
        ]
    ServingEvent.objects.bulk_create(events)
    # The pages read the rollups, which ingestion keeps current; these events skipped it.
    rollups_rebuild()
    factories.user_make("alice", Role.EXECUTIVE, password="alice-password")


@pytest.fixture
def static_by_plain_name(settings):
    # live_server serves static files through the finders, which know files by their plain
    # names; production's manifest storage would link the hashed names collectstatic makes.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def page(live_server, static_by_plain_name) -> Iterator[Page]:
    # Started after the data fixtures: Django refuses ORM calls while Playwright's event
    # loop runs in the same thread, so the test body talks only to the browser.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(base_url=live_server.url)
            context.set_default_timeout(TIMEOUT_MS)
            yield context.new_page()
        finally:
            browser.close()


def screenshot_on_failure(test: Callable[..., None]) -> Callable[..., None]:
    """Save what the browser showed when the test failed, and name the file in the report."""

    @functools.wraps(test)
    def run(*args: object, **kwargs: object) -> None:
        try:
            test(*args, **kwargs)
        except BaseException as exc:
            browser_page: Page = kwargs["page"]
            path = Path(tempfile.mkdtemp(prefix="kpiboard-browser-")) / f"{test.__name__}.png"
            try:
                browser_page.screenshot(path=path, full_page=True)
                exc.add_note(f"screenshot of the page at {browser_page.url}: {path}")
            except Exception as screenshot_error:
                exc.add_note(f"no screenshot could be taken: {screenshot_error}")
            raise

    return run


def log_in(page: Page, username: str, password: str) -> None:
    page.goto("/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#models-table")).to_be_visible()


def listed_models(page: Page) -> list[str]:
    return page.locator("#models-table tbody tr[data-model]").evaluate_all(
        "rows => rows.map(row => row.dataset.model).sort()"
    )


def inferences_of(page: Page, model: str) -> Locator:
    return page.locator(f'#models-table tr[data-model="{model}"] td[data-kpi=inferences]')


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def reloads_with(page: Page, name: str, value: str, action: Callable[[], None]) -> None:
    """Run `action` and wait for the page it loads, whose URL must carry name=value."""
    # The filter bar's script wires its selects on DOMContentLoaded, after plotly.js is
    # read: acting on a table that is visible sooner would change a select nobody hears.
    page.wait_for_load_state("load")
    pattern = re.compile(rf"[?&]{name}={re.escape(value)}(&|$)")
    with page.expect_response(
        lambda r: r.request.is_navigation_request() and bool(pattern.search(r.url))
    ) as navigation:
        action()
    response = navigation.value
    assert response.status == 200, f"{response.url} answered {response.status}"
    page.wait_for_url(pattern)


def pick(page: Page, name: str, value: str) -> None:
    """Choose an option in the filter bar; the select submits the form by itself."""
    select = page.locator(f"#filter-bar select[name={name}]")
    reloads_with(page, name, value, lambda: select.select_option(value))


@screenshot_on_failure
def test_an_anonymous_visit_redirects_to_the_login_page(page):
    page.goto("/")

    assert urlsplit(page.url).path == "/accounts/login/"
    assert query(page)["next"] == ["/"]
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


@screenshot_on_failure
def test_an_executive_sees_both_models_and_the_charts(portfolio, page):
    log_in(page, "alice", "alice-password")

    assert urlsplit(page.url).path == "/"
    assert listed_models(page) == ["fraud-scorer", "recommender"]
    figures = page.locator("[data-figure]")
    assert figures.count() >= 1
    expect(page.locator("[data-figure][data-rendered=true]")).to_have_count(figures.count())
    expect(page.locator("[data-figure] .main-svg").first).to_be_visible()


@screenshot_on_failure
def test_the_toggles_narrow_the_table_and_live_in_the_url(portfolio, page):
    log_in(page, "alice", "alice-password")

    pick(page, "industry", "payments")
    assert query(page)["industry"] == ["payments"]
    assert listed_models(page) == ["fraud-scorer"]

    page.goto("/")
    pick(page, "serving_mode", "batch")
    assert query(page)["serving_mode"] == ["batch"]
    assert listed_models(page) == ["recommender"]

    page.goto("/")
    pick(page, "model", "fraud-scorer")
    assert query(page)["model"] == ["fraud-scorer"]
    assert listed_models(page) == ["fraud-scorer"]

    # A shared URL opens the same view.
    page.goto("/?industry=ecommerce")
    assert listed_models(page) == ["recommender"]
    expect(page.locator("#filter-bar select[name=industry]")).to_have_value("ecommerce")


@screenshot_on_failure
def test_a_longer_window_counts_the_older_events(portfolio, page):
    log_in(page, "alice", "alice-password")
    expect(page.locator("#filter-bar select[name=window]")).to_have_value("7d")
    expect(inferences_of(page, "fraud-scorer")).to_have_text("3")
    expect(inferences_of(page, "recommender")).to_have_text("4")

    # The window select waits for Apply, since "Custom range" needs its dates first.
    page.locator("#filter-bar select[name=window]").select_option("30d")
    apply = page.get_by_role("button", name="Apply")
    reloads_with(page, "window", "30d", apply.click)

    assert query(page)["window"] == ["30d"]
    expect(inferences_of(page, "fraud-scorer")).to_have_text("5")
    expect(inferences_of(page, "recommender")).to_have_text("10")


@screenshot_on_failure
def test_the_models_table_fits_a_wide_screen_and_a_name_opens_its_page(portfolio, page):
    page.set_viewport_size({"width": 1440, "height": 900})
    log_in(page, "alice", "alice-password")
    pick(page, "window", "30d")
    fits = page.locator("#models-table").evaluate(
        "table => table.scrollWidth <= table.parentElement.clientWidth"
    )
    assert fits, "the models table scrolls sideways at 1440 px"
    page.locator("#models-table").get_by_role("link", name="fraud-scorer", exact=True).click()
    expect(page).to_have_url(re.compile(r"/models/fraud-scorer/\?window=30d$"))
    expect(page.locator("h1")).to_contain_text("fraud-scorer")
    page.get_by_role("navigation", name="fraud-scorer in each phase").get_by_role(
        "link", name="Health"
    ).click()
    expect(page).to_have_url(re.compile(r"/monitoring/models/fraud-scorer/\?window=30d$"))
