"""The ledger's FilterSet: a few near-identical rows, one short test per filter."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lifecycle.deployment.filtersets import LifecycleChangeFilterSet
from lifecycle.deployment.models import ChangeKind, ChangeSource, LifecycleChange
from tests import factories
from tests.lifecycle.deployment.factories import change_make, registry_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(fraud_scorer, recommender, now):
    registry = registry_make()
    f1 = factories.version_make(fraud_scorer, "1")
    f2 = factories.version_make(fraud_scorer, "2")
    r1 = factories.version_make(recommender, "1")
    change_make(f1, ChangeKind.REGISTERED, happened_before=now - timedelta(days=20))
    change_make(f2, ChangeKind.ALIAS_SET, source=ChangeSource.POLL, registry=registry)
    change_make(f2, ChangeKind.DEPLOYED, source=ChangeSource.WEBHOOK, registry=registry)
    change_make(r1, ChangeKind.PROMOTED, happened_before=now - timedelta(hours=2))


def _count(**params) -> int:
    return LifecycleChangeFilterSet(params, queryset=LifecycleChange.objects.all()).qs.count()


def test_the_default_window_is_the_last_week(ledger):
    assert _count() == 3


def test_a_wider_window_takes_older_changes(ledger):
    assert _count(window="30d") == 4


def test_it_filters_by_model(ledger):
    assert _count(model="recommender") == 1


def test_it_filters_by_version(ledger):
    assert _count(model="fraud-scorer", version="2") == 2


def test_it_filters_by_kind(ledger):
    assert _count(kind=["alias_set", "promoted"]) == 2


def test_it_filters_by_source(ledger):
    assert _count(source="webhook") == 1


def test_it_filters_by_registry(ledger):
    assert _count(registry="mlflow-main") == 2


def test_it_filters_by_team(ledger):
    assert _count(team="growth") == 1
