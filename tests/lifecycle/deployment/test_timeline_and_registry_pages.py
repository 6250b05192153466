"""What the timeline, deployment and registry pages draw and say, read from their HTML and
the figure JSON plotly.js receives."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from django.test import Client

from ingestion.rollups import rollups_rebuild
from lifecycle.catalog.charts import FAILURE_CLASS_COLOURS
from lifecycle.catalog.models import DeploymentRole
from lifecycle.catalog.windows import time_range_resolve
from lifecycle.deployment import charts
from lifecycle.deployment.models import ChangeKind, ChangeSource
from lifecycle.deployment.timeline import TimelineEntry
from tests import factories
from tests.lifecycle.deployment.factories import change_make, registry_make

pytestmark = pytest.mark.django_db

TIMELINE = "/deployment/models/fraud-scorer/timeline/"


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _figure(html: str, name: str) -> dict:
    found = re.search(rf'<script type="application/json" id="figure-{name}">(.*?)</script>', html)
    assert found, f"no figure-{name} on the page"
    return json.loads(found.group(1))


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _x_span(figure: dict) -> timedelta:
    low, high = figure["layout"]["xaxis"]["range"]
    return _moment(high) - _moment(low)


def test_the_timeline_axis_spans_the_window_when_every_entry_shares_one_instant(
    alice, fraud_scorer, now
):
    instant = now - timedelta(days=2)
    version = factories.version_make(fraud_scorer, "1", registered_at=instant)
    change_make(version, ChangeKind.REGISTERED, happened_before=instant)
    change_make(version, ChangeKind.PROMOTED, happened_before=instant, role="production")
    page = _logged_in(alice).get(TIMELINE)
    assert page.status_code == 200
    figure = _figure(page.content.decode(), "timeline")
    assert figure["layout"]["xaxis"]["type"] == "date"
    assert _x_span(figure) >= timedelta(days=7)
    low, high = (_moment(x) for x in figure["layout"]["xaxis"]["range"])
    assert low <= instant.replace(tzinfo=None) <= high


def test_the_timeline_axis_never_shrinks_below_an_hour(now):
    instant = now
    window = time_range_resolve(window=None, start=instant, end=instant, now=instant)
    entry = TimelineEntry("deployed", "Deployed", "1", instant, instant, "catalog", "")
    figure = json.loads(charts.timeline_figure([entry], time_range=window))
    assert _x_span(figure) >= charts.TIMELINE_MIN_SPAN


def test_an_empty_timeline_still_shows_the_window(alice, fraud_scorer):
    html = _logged_in(alice).get(f"{TIMELINE}?window=24h").content.decode()
    figure = _figure(html, "timeline")
    assert figure["data"] == []
    # The window starts on the hour (up to 25 hours long); the axis pads 2% each side.
    assert timedelta(hours=24) <= _x_span(figure) < timedelta(hours=25) * 1.04
    assert "Nothing happened to this model in the window." in html


def test_a_polled_change_draws_its_poll_interval_as_a_bar_from_the_previous_poll(
    alice, fraud_scorer, now
):
    seen = (now - timedelta(days=1)).replace(microsecond=0)
    version = factories.version_make(fraud_scorer, "1", registered_at=seen - timedelta(days=2))
    change_make(
        version,
        ChangeKind.ALIAS_SET,
        source=ChangeSource.POLL,
        happened_after=seen - timedelta(minutes=15),
        happened_before=seen,
        key="champion",
        role="production",
    )
    figure = _figure(_logged_in(alice).get(TIMELINE).content.decode(), "timeline")
    bars = [t for t in figure["data"] if t["type"] == "bar"]
    assert len(bars) == 1, "only the polled change has an interval to draw"
    (bar,) = bars
    assert bar["orientation"] == "h" and bar["y"] == ["Alias set"]
    assert bar["x"] == [15 * 60 * 1000]
    assert _moment(bar["base"][0]) == (seen - timedelta(minutes=15)).replace(tzinfo=None)
    assert figure["layout"]["barmode"] == "overlay", "a grouped bar would sit off its row"
    start, end = f"{seen - timedelta(minutes=15):%Y-%m-%d %H:%M:%S}", f"{seen:%Y-%m-%d %H:%M:%S}"
    assert f"happened between {start} UTC and {end} UTC" in bar["text"][0]
    dots = [t for t in figure["data"] if t["type"] == "scatter" and t["name"] == "Alias set"]
    assert _moment(dots[0]["x"][0]) == seen.replace(tzinfo=None)


def test_a_failed_deployment_reads_as_a_sentence(alice, fraud_scorer, now):
    version = factories.version_make(fraud_scorer, "2", registered_at=now - timedelta(days=3))
    change_make(
        version,
        ChangeKind.DEPLOYMENT_FAILED,
        happened_before=now - timedelta(days=1),
        role=DeploymentRole.PRODUCTION,
        endpoint=factories.endpoint_make("fraud-online"),
        detail={"reason": "The health check timed out."},
    )
    html = _logged_in(alice).get(TIMELINE).content.decode()
    assert "Failed to deploy as production on fraud-online: The health check timed out." in html
    assert "as production The health check" not in html


def test_a_failed_deployment_without_a_reason_or_endpoint_still_reads_as_a_sentence(
    alice, fraud_scorer, now
):
    version = factories.version_make(fraud_scorer, "2", registered_at=now - timedelta(days=3))
    change_make(
        version,
        ChangeKind.DEPLOYMENT_FAILED,
        happened_before=now - timedelta(days=1),
        role=DeploymentRole.CANARY,
    )
    html = _logged_in(alice).get(TIMELINE).content.decode()
    assert "<td>Failed to deploy as canary.</td>" in html


def test_a_bad_window_on_the_timeline_is_a_400_naming_it(alice, fraud_scorer):
    page = _logged_in(alice).get(f"{TIMELINE}?window=fortnight")
    assert page.status_code == 400
    assert "<b>window</b>" in page.content.decode()


def test_the_timeline_offers_only_the_window_since_it_shows_one_model(alice, fraud_scorer):
    html = _logged_in(alice).get(TIMELINE).content.decode()
    assert 'id="id_window"' in html
    assert 'name="model"' not in html and 'name="team"' not in html


def test_a_disabled_registry_is_shown_as_not_polled(alice, fraud_scorer):
    registry_make("mlflow-off", enabled=False)
    registry_make("mlflow-on")
    client = _logged_in(alice)
    listing = client.get("/deployment/registries/").content.decode()
    cells = dict(
        re.findall(
            r'data-registry="([^"]+)".*?<td data-field="next_poll">(.*?)</td>', listing, re.S
        )
    )
    assert cells == {"mlflow-off": "disabled (not polled)", "mlflow-on": "due"}
    page = client.get("/deployment/registries/mlflow-off/").content.decode()
    assert '<dd data-field="next_poll">disabled (not polled)</dd>' in page


def test_champion_and_challenger_without_labels_or_pairs_say_so(alice, fraud_scorer, now):
    endpoint = factories.endpoint_make("fraud-online")
    champion = factories.version_make(fraud_scorer, "1", registered_at=now - timedelta(days=20))
    challenger = factories.version_make(fraud_scorer, "2", registered_at=now - timedelta(days=9))
    factories.deployment_make(champion, endpoint=endpoint, started_at=now - timedelta(days=10))
    factories.deployment_make(
        challenger,
        endpoint=endpoint,
        role=DeploymentRole.CANARY,
        started_at=now - timedelta(days=5),
    )
    from lifecycle.catalog.models import ServingEvent

    ServingEvent.objects.bulk_create(
        [
            factories.event_build(v, endpoint=endpoint, timestamp=now - timedelta(hours=i + 1))
            for v in (champion, challenger)
            for i in range(3)
        ]
    )
    rollups_rebuild()  # deployment reads serving numbers from the rollups
    html = _logged_in(alice).get("/deployment/?window=7d").content.decode()
    table = html[html.index('id="champion-challenger"') :]
    table = table[: table.index("</table>")]
    assert "fraud-online" in table
    assert "no labels yet" in table and "no paired events" in table
    assert "n/a of 0" not in table and "n/a (0)" not in table


def test_each_kind_of_change_keeps_its_colour_by_meaning(now):
    window = time_range_resolve(window="7d", start=None, end=None, now=now)
    entries = [
        TimelineEntry(kind, kind, "1", now - timedelta(days=1), now - timedelta(days=1), "", "")
        for kind in ("deployed", "rolled_back", "deployment_failed")
    ]
    figure = json.loads(charts.timeline_figure(entries, time_range=window))
    colours = {t["name"]: t["marker"]["color"] for t in figure["data"] if "marker" in t}
    assert colours["deployed"] == charts.CHANGE_KIND_COLOURS["deployed"]
    assert colours["rolled_back"] == charts.CHANGE_KIND_COLOURS["rolled_back"]
    # A failed deployment is the colour the deployment failure class has everywhere.
    assert colours["deployment_failed"] == FAILURE_CLASS_COLOURS["deployment"]
