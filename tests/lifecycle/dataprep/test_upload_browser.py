"""A data team member uploads a CSV from the data team page in headless Chromium: the
progress bar fills, the answer links to the profile, whose charts draw; a bad file is
refused on the page with the server's reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from lifecycle.catalog.models import Role
from tests import factories
from tests.browser.test_portfolio_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS

pytestmark = pytest.mark.browser


@pytest.fixture
def cast(transactional_db):
    factories.team_make("risk", "Finance")
    factories.user_make("dana", Role.DATA_TEAM, password="dana-password")


@pytest.fixture
def page(live_server, settings) -> Iterator[Page]:
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
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


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 40_000  # a couple of MB, so the upload reports progress
    path = tmp_path / "payments.csv"
    pd.DataFrame(
        {
            "amount": rng.normal(50, 10, n),
            "merchant": rng.choice(["shop", "fuel"], n),
            "note": ["x" * 20] * n,
        }
    ).to_csv(path, index=False)
    return path


def _log_in(page: Page) -> None:
    page.goto("/accounts/login/?next=/data/")
    page.get_by_label("User name").fill("dana")
    page.get_by_label("Password").fill("dana-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#upload-form")).to_be_visible()


def test_a_csv_uploaded_from_the_page_is_profiled_and_linked(cast, page, csv_file):
    _log_in(page)
    page.locator("#upload-dataset").fill("payments")
    page.locator("#upload-form select[name=team]").select_option("risk")
    page.locator("#upload-file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload").click()

    result = page.locator("#upload-result")
    expect(result).to_contain_text("Version 1 of payments: 40,000 rows profiled")
    assert page.locator("#upload-progress").evaluate("el => el.value") == 100
    result.click()
    page.wait_for_url("**/data/payments/versions/1/")
    expect(page.locator('[data-kpi="dataset_rows"] .tile-value')).to_have_text("40,000")
    figures = page.locator("[data-figure]")
    expect(page.locator("[data-figure][data-rendered=true]")).to_have_count(figures.count())


def test_a_bad_file_is_refused_on_the_page(cast, page, tmp_path):
    bad = tmp_path / "ragged.csv"
    bad.write_text("a,b\n1,2\n3,4,5\n")
    _log_in(page)
    page.locator("#upload-dataset").fill("payments")
    page.locator("#upload-form select[name=team]").select_option("risk")
    page.locator("#upload-file").set_input_files(str(bad))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-status")).to_contain_text(
        "Refused (400): file: ragged.csv, line 3: 3 fields where the header has 2."
    )
