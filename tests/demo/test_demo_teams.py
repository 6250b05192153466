"""The demo's events carry their model's team, and its labels join them within it."""

from datetime import UTC, datetime

import pytest
from django.db.models import Exists, F, OuterRef

from demo.seed import demo_portfolio_seed
from lifecycle.catalog.models import Label, ServingEvent

pytestmark = pytest.mark.django_db


def test_the_demo_stores_each_event_in_its_models_team_and_labels_join_them():
    # The seed's own fixed moment, as in test_seed_demo: the demo never reads the clock.
    demo_portfolio_seed(now=datetime(2025, 6, 4, 12, 0, tzinfo=UTC), days=2, volume=0.1)
    events = ServingEvent.objects.all()
    assert events.exists() and not events.exclude(team=F("model__team")).exists()
    joined = Exists(events.filter(event_id=OuterRef("event_id"), team=OuterRef("team")))
    labels = Label.objects.all()
    assert labels.exists() and labels.filter(joined).count() == labels.count()
