"""A crawler in headless Chromium: logged in as each role, it follows every link
reachable from the navigation on the demo and fails on any 4xx or 5xx, console error,
chart that does not draw, or chart left empty where the KPI API has data.

Links of the same kind (the same route and the same query keys, e.g. two models' pages)
are followed twice at most: every kind of page is visited as each role, in minutes.
"""

from __future__ import annotations

from collections import deque
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.urls import Resolver404, resolve
from playwright.sync_api import Page, expect

from demo.users import DEMO_PASSWORD
from tests.browser.test_every_page_browser import browser_page, site  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

ROLES = ("executive", "mlops", "datateam", "admin")
SAME_KIND_VISITS = 2
# Not pages of kpiboard's own: Django's admin beyond its index (its own tests cover it),
# the JSON API (the schema tests), logging out (it would end the crawl).
_SKIPPED_PREFIXES = ("/admin/", "/api/", "/accounts/logout/", "/static/")
_KEPT = ("/admin/", "/api/docs/")

# For each chart: does it draw anything, and if not, what does it say instead?
_CHARTS = """
() => [...document.querySelectorAll("[data-figure]")].map((chart) => {
  const figure = JSON.parse(document.getElementById(chart.dataset.figure).textContent);
  const points = (figure.data || []).some((trace) =>
    ["x", "y", "z", "values"].some((key) => Array.isArray(trace[key]) && trace[key].length));
  const notes = ((figure.layout || {}).annotations || []).map((a) => a.text).join(" ");
  return {id: chart.id, rendered: chart.dataset.rendered === "true", points, notes};
})
"""

_HREFS = "links => links.map((a) => a.href)"
# The navigation's links start from the portfolio; its search box is a form, so the
# crawl submits it once (a letter most demo names have) and follows what it lists.
_STARTS = ("/", "/search/?q=e")


def _kind(path: str, query: str) -> tuple[str, tuple[str, ...]] | None:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.route, tuple(sorted(parse_qs(query, keep_blank_values=True)))


def _followed(href: str, origin: str) -> str | None:
    """The same-origin page a link opens (path and query), or None to leave it."""
    parts = urlsplit(href)
    if parts.scheme not in ("http", "https") or f"{parts.scheme}://{parts.netloc}" != origin:
        return None
    if parts.path not in _KEPT and parts.path.startswith(_SKIPPED_PREFIXES):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _api_inferences(page: Page, path: str, query: str) -> int | None:
    """What the KPI API counts for the scope a page shows (its model, version or endpoint
    from the path, its filters from the query)."""
    params = {k: v[-1] for k, v in parse_qs(query).items() if k not in ("sort", "format")}
    parts = [p for p in path.split("/") if p]
    url = "/api/v1/kpis/portfolio/"
    if parts[:1] == ["models"] or parts[:2] == ["monitoring", "models"]:
        name = parts[1] if parts[0] == "models" else parts[2]
        url = f"/api/v1/kpis/models/{name}/"
        if parts[0] == "models" and len(parts) == 4:
            params[{"versions": "version", "endpoints": "endpoint"}[parts[2]]] = parts[3]
    answer = page.request.get(f"{url}?{urlencode(params)}")
    if not answer.ok:
        return None
    kpis = {k["id"]: k["value"] for k in answer.json()["kpis"]}
    return kpis.get("inferences")


def _problems_on(page: Page, errors: list[str], path: str) -> tuple[list[str], list[str]]:
    """What is wrong on `path`, and the links it offers."""
    errors.clear()
    response = page.goto(path, wait_until="load")
    problems = [] if response.ok else [f"answered {response.status}"]
    if "text/html" not in response.headers.get("content-type", ""):
        return problems + list(errors), []
    figures = page.locator("[data-figure]")
    try:
        expect(page.locator("[data-figure][data-rendered=true]")).to_have_count(figures.count())
    except AssertionError:
        problems.append("a chart did not draw")
    query = urlsplit(path).query
    for chart in page.evaluate(_CHARTS):
        if chart["points"]:
            continue
        if not chart["notes"]:
            problems.append(f"{chart['id']} is empty and says nothing about why")
        elif "No traffic" in chart["notes"]:
            served = _api_inferences(page, urlsplit(path).path, query)
            if served:
                problems.append(f"{chart['id']} says no traffic; the API counts {served}")
    links = page.eval_on_selector_all("header a[href], main a[href]", _HREFS)
    return problems + list(errors), links


def _csv_problems(page: Page, path: str) -> list[str]:
    answer = page.request.get(path)
    if not answer.ok:
        return [f"answered {answer.status}"]
    if "text/csv" not in answer.headers.get("content-type", ""):
        return [f"is {answer.headers.get('content-type')}, not CSV"]
    return []


def crawl(page: Page, errors: list[str], origin: str) -> tuple[dict[str, list[str]], int]:
    """Problems per page, and how many pages were visited."""
    queue: deque[str] = deque(_STARTS)
    seen = set(_STARTS)
    kinds: dict[tuple, int] = {}
    problems: dict[str, list[str]] = {}
    visited = 0
    while queue:
        path = queue.popleft()
        if "format=csv" in path:
            found, links = _csv_problems(page, path), []
        else:
            found, links = _problems_on(page, errors, path)
        visited += 1
        if found:
            problems[path] = found
        for href in links:
            target = _followed(href, origin)
            if target is None or target in seen:
                continue
            seen.add(target)
            kind = _kind(*[*target.split("?", 1), ""][:2])
            if kind is None:
                problems[target] = [f"linked from {path}, no such page"]
                continue
            if kinds.get(kind, 0) >= SAME_KIND_VISITS:
                continue
            kinds[kind] = kinds.get(kind, 0) + 1
            queue.append(target)
    return problems, visited


@pytest.mark.parametrize("role", ROLES)
def test_every_link_from_the_navigation_works_for_each_role(site, browser_page, live_server, role):  # noqa: F811
    page, errors = browser_page
    page.goto("/accounts/login/")
    page.get_by_label("User name").fill(role)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#models-table")).to_be_visible()

    problems, visited = crawl(page, errors, live_server.url)

    # Every page of the site map is of a kind the crawl reached from the navigation.
    assert visited >= 25, f"only {visited} pages reached as {role}"
    failures = [f"{path}: {found}" for path, found in problems.items() for found in found]
    print(f"{visited} pages visited as {role}")
    assert not failures, f"as {role}, {len(failures)} problems:\n" + "\n".join(failures)


def test_the_crawl_reaches_every_kind_of_page_in_the_site_map(site, browser_page, live_server):  # noqa: F811
    """The crawl's reach, as the admin (who sees every page): each page of the site map
    that has a route of its own is of a kind the crawl opens."""
    page = browser_page[0]
    page.goto("/accounts/login/")
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    reached = {_kind(*[*start.split("?", 1), ""][:2])[0] for start in _STARTS}
    queue, seen = deque(["/"]), {"/"}
    while queue:
        path = queue.popleft()
        page.goto(path)
        for href in page.eval_on_selector_all(
            "header a[href], main a[href]", "as => as.map(a => a.href)"
        ):
            target = _followed(href, live_server.url)
            if target is None or target in seen or "format=csv" in target:
                continue
            seen.add(target)
            kind = _kind(*[*target.split("?", 1), ""][:2])
            if kind and kind[0] not in reached:
                reached.add(kind[0])
                queue.append(target)
    mapped = {resolve(urlsplit(p).path).route for p in site.values()}
    # The admin's own pages are Django's; the crawl stops at its index.
    mapped = {r for r in mapped if not r.startswith("admin/") or r == "admin/"}
    assert mapped <= reached | {""}, f"not reached from the navigation: {sorted(mapped - reached)}"
