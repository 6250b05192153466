"""Every paginated list: a huge ?limit= is clamped to the cap, not a database overflow."""

import pytest
from django.urls import URLResolver, get_resolver

from kpiboard.pagination import CappedLimitOffsetPagination
from lifecycle.deployment.models import ChangeKind
from tests import factories
from tests.lifecycle.deployment.factories import change_make, registry_make

pytestmark = pytest.mark.django_db
HUGE = "18446744073709551617"  # 2**64 + 1
LISTS = [
    "/api/v1/industries/",
    "/api/v1/teams/",
    "/api/v1/models/",
    "/api/v1/models/fraud-scorer/versions/",
    "/api/v1/endpoints/",
    "/api/v1/deployments/",
    "/api/v1/registries/",
    "/api/v1/lifecycle-changes/",
]


def _paginated_routes(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _paginated_routes(pattern.url_patterns, prefix + str(pattern.pattern))
            continue
        view = getattr(pattern.callback, "cls", None)
        actions = getattr(pattern.callback, "actions", None) or {}
        route = prefix + str(pattern.pattern)
        paginated = view and getattr(view, "pagination_class", None)
        if paginated and actions.get("get") == "list" and "(?P<format>" not in route:
            yield route


def test_the_tested_lists_are_every_paginated_list_of_the_url_conf():
    assert len(list(_paginated_routes(get_resolver().url_patterns))) == len(LISTS)


@pytest.fixture
def catalog(fraud_scorer, now):
    """A row in every list: an empty list answers before it slices."""
    version = factories.version_make(fraud_scorer, "1")
    factories.deployment_make(version)
    registry_make()
    change_make(version, ChangeKind.REGISTERED, happened_before=now)


@pytest.mark.parametrize("url", LISTS)
def test_a_limit_past_the_database_range_is_clamped(api_as, root, catalog, url):
    response = api_as(root).get(f"{url}?limit={HUGE}")
    assert response.status_code == 200, response.content
    assert response.json()["count"] >= 1
    assert len(response.json()["results"]) <= CappedLimitOffsetPagination.max_limit


def test_the_limit_is_capped(api_as, root, monkeypatch):
    for i in range(3):
        factories.industry_make(f"industry-{i}")
    monkeypatch.setattr(CappedLimitOffsetPagination, "max_limit", 2)
    response = api_as(root).get("/api/v1/industries/?limit=1000")
    assert len(response.json()["results"]) == 2
