"""Every API route x every role (and anonymous) x every method, held against the policy
table of docs/api-access.md. The routes come from the URL conf, so a new route without a
row in the table fails here.

Each request runs in a transaction that is rolled back, so deletes and writes of one
request leave the throw-away objects for the next."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from ingestion.registry import api as registry_api
from lifecycle.catalog.models import Role
from lifecycle.deployment.models import ChangeKind
from tests import factories
from tests.lifecycle.deployment.factories import change_make, registry_make

DOC = Path(settings.BASE_DIR) / "docs" / "api-access.md"
ROLES = ("executive", "mlops", "data_team", "admin")
_ROLE_OF = {r.value: r for r in Role}
PRINCIPALS = (*ROLES, "anonymous")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
REFUSED = {401, 403}


@dataclass(frozen=True)
class Policy:
    methods: frozenset[str]
    read: frozenset[str]
    write: frozenset[str]
    signed: bool = False


def _who(cell: str) -> frozenset[str]:
    cell = cell.strip()
    if cell == "any":
        return frozenset(ROLES)
    if cell in ("-", "signed"):
        return frozenset()
    return frozenset(part.strip() for part in cell.split(","))


def policy_table() -> dict[str, Policy]:
    """The table of docs/api-access.md, by route."""
    table = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[0].startswith("`/api/"):
            continue
        route, methods, read, write = cells
        table[route.strip("`")] = Policy(
            methods=frozenset(m.strip() for m in methods.split(",")),
            read=_who(read),
            write=_who(write),
            signed=write == "signed",
        )
    return table


def _template(pattern: str) -> str:
    # Router regexes and path converters alike become the table's {name} placeholders.
    pattern = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern)
    pattern = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", pattern)
    return "/" + pattern.replace("^", "").replace("$", "")


def api_routes() -> dict[str, str]:
    """Every API route of the URL conf as a template, with its URL name."""

    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern), p

    routes = {}
    for pattern, p in walk(get_resolver().url_patterns):
        # The routers' `.json` twins are the same views under the same policy.
        if pattern.startswith("api/") and "format" not in pattern:
            routes[_template(pattern)] = p.name
    return routes


def test_every_api_route_has_a_policy_and_every_policy_a_route():
    routes, table = set(api_routes()), set(policy_table())
    assert routes - table == set(), "routes with no row in docs/api-access.md"
    assert table - routes == set(), "rows of docs/api-access.md with no route"


@pytest.fixture
def world(db, now, monkeypatch):
    """Throw-away objects every URL can name, and a user of each role."""
    risk = factories.team_make("risk")
    model = factories.model_make("fraud-scorer", team=risk)
    version = factories.version_make(model, "1")
    deployment = factories.deployment_make(version, endpoint=factories.endpoint_make("scoring"))
    dataset = factories.dataset_make("transactions", team=risk)
    factories.dataset_version_make(dataset, "1")
    registry = registry_make("mlflow-main")
    change = change_make(version, ChangeKind.REGISTERED, registry=registry)
    # A sync would reach out to the registry: what is checked here is who may ask.
    monkeypatch.setattr(registry_api.registry_poll, "delay", lambda *a, **k: None)
    values = {
        "industries": "payments",
        "teams": "risk",
        "models": "fraud-scorer",
        "endpoints": "scoring",
        "datasets": "transactions",
        "registries": "mlflow-main",
        "model_name": "fraud-scorer",
        "version": "1",
        "deployments": str(deployment.pk),
        "lifecycle-changes": str(change.pk),
    }
    users = {role: factories.user_make(f"user-{role}", _ROLE_OF[role]) for role in ROLES}
    return values, users


def _url(template: str, values: dict[str, str]) -> str:
    parts = template.strip("/").split("/")
    filled = []
    for i, part in enumerate(parts):
        if part.startswith("{"):
            key = part[1:-1]
            filled.append(values[key] if key in values else values[parts[i - 1]])
        else:
            filled.append(part)
    return "/" + "/".join(filled) + "/"


def _answer(client: APIClient, method: str, url: str) -> int:
    with transaction.atomic():
        response = client.generic(method, url, data=json.dumps({}), content_type="application/json")
        transaction.set_rollback(True)
    return response.status_code


@pytest.mark.parametrize("template", sorted(policy_table()))
def test_each_role_gets_what_the_policy_table_says(world, template):
    values, users = world
    policy = policy_table()[template]
    url = _url(template, values)
    problems = []
    answers = {}
    for principal in PRINCIPALS:
        client = APIClient()
        if principal != "anonymous":
            client.force_authenticate(users[principal])
        for method in METHODS:
            code = _answer(client, method, url)
            answers[principal, method] = code
            if policy.signed:
                continue
            allowed_roles = policy.read if method == "GET" else policy.write
            if method not in policy.methods:
                ok = code in REFUSED | {405}
                expected = "401, 403 or 405 (no such method)"
            elif principal in allowed_roles:
                ok = code not in REFUSED | {405}
                expected = "allowed"
            else:
                ok = code in REFUSED
                expected = "401 or 403"
            if not ok:
                problems.append(f"{principal} {method} {url}: {code}, expected {expected}")
    if policy.signed:
        # No role changes the answer: only the signature does.
        for method in METHODS:
            codes = {answers[p, method] for p in PRINCIPALS}
            if len(codes) != 1:
                problems.append(f"{method} {url}: answers differ by role: {codes}")
    assert problems == []
