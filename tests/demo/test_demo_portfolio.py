"""The demo portfolio: what it holds. Read-only tests, so the demo is seeded once for the
module (small: a few days, a fifth of the traffic; the same code path makes the full 30
days) and deleted after. Reseeding (determinism, --reset) is in test_seed_demo_command."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from statistics import mean

import pytest
from django.contrib.auth.models import User
from django.db.models import Q

from demo.seed import demo_portfolio_delete, demo_portfolio_seed
from demo.users import DEMO_PASSWORD
from lifecycle.catalog.models import (
    Deployment,
    DeploymentRole,
    Endpoint,
    EventStatus,
    FailureClass,
    Industry,
    ModelVersion,
    RegisteredModel,
    Role,
    ServingEvent,
    ServingMode,
    Team,
)
from lifecycle.catalog.windows import TimeRange
from lifecycle.deployment.kpis import traffic_split
from lifecycle.monitoring.models import Incident

pytestmark = pytest.mark.django_db

# The seed is built around the moment it is given (--now), and every assertion here
# compares with that moment, never with the clock (only ingestion's received_at reads it):
# a fixed moment far from the clock shows that nothing checked comes from the clock.
NOW = datetime(2025, 6, 4, 12, 0, tzinfo=UTC)  # a Wednesday
SMALL = {"days": 3, "volume": 0.2}


@pytest.fixture(scope="module", autouse=True)
def demo(django_db_setup, django_db_blocker):
    """Seeded and committed once for the module; each test still runs in its own
    transaction, rolled back, so a test's writes never reach the next."""
    with django_db_blocker.unblock():
        summary = demo_portfolio_seed(now=NOW, **SMALL)
        yield summary
        demo_portfolio_delete()


def _events(**filters):
    return ServingEvent.objects.filter(**filters)


def test_it_covers_the_four_industries_with_teams_in_business_units():
    names = set(Industry.objects.values_list("name", flat=True))
    assert {"payments-fraud", "ecommerce-recommendations", "email-send-time", "credit-risk"} <= (
        names
    )
    assert Team.objects.count() >= 4
    assert Team.objects.values("business_unit").distinct().count() >= 4


def test_it_makes_twenty_models_in_both_serving_modes_with_slas():
    models = RegisteredModel.objects.all()
    assert models.count() >= 20
    modes = set(models.values_list("serving_mode", flat=True))
    assert modes == {ServingMode.BATCH, ServingMode.STREAMING}
    for model in models:
        assert model.unit_cost_usd > 0
        assert model.sla_latency_p95_ms and model.sla_error_rate and model.sla_uptime
        assert model.versions.count() >= 2, model.name


def test_it_registers_versions_over_the_last_180_days_trained_on_dataset_versions():
    versions = ModelVersion.objects.all()
    assert min(v.registered_at for v in versions) >= NOW - timedelta(days=180)
    assert max(v.registered_at for v in versions) < NOW
    for version in versions.prefetch_related("datasets"):
        assert version.datasets.exists(), version
        assert all(dv.created_at < version.registered_at for dv in version.datasets.all())


def test_it_takes_days_to_weeks_from_registration_to_production():
    days = []
    for version in ModelVersion.objects.all():
        first = version.deployments.filter(role=DeploymentRole.PRODUCTION).order_by("started_at")
        if first:
            days.append((first[0].started_at - version.registered_at).total_seconds() / 86400)
    assert min(days) >= 1
    assert max(days) <= 70
    assert 15 <= mean(days) <= 45


def test_it_ends_the_old_production_version_when_a_new_one_replaces_it():
    for model in RegisteredModel.objects.all():
        rows = list(
            Deployment.objects.filter(
                model_version__model=model, role=DeploymentRole.PRODUCTION
            ).order_by("started_at")
        )
        assert [r.ended_at for r in rows].count(None) == 1, model.name
        for earlier, later in itertools.pairwise(rows):
            assert earlier.ended_at is not None and earlier.ended_at <= later.started_at


def test_it_has_shadow_and_canary_deployments_active_now():
    active = Deployment.objects.active_between(NOW, NOW + timedelta(seconds=1))
    assert active.filter(role=DeploymentRole.SHADOW, traffic_share=0).exists()
    assert active.filter(role=DeploymentRole.CANARY, traffic_share__gt=0).exists()
    for endpoint in Endpoint.objects.all():
        shares = active.filter(endpoint=endpoint).values_list("traffic_share", flat=True)
        assert sum(shares) == 1, endpoint.name


def test_every_endpoints_shares_add_up_at_every_moment_of_its_history():
    """Not only now: before a multi-model endpoint had all its models, the ones on it
    took the whole of its traffic, and a promotion ends the deployment it replaces."""
    deployments = list(Deployment.objects.exclude(role=DeploymentRole.SHADOW))
    for endpoint in Endpoint.objects.all():
        here = [d for d in deployments if d.endpoint_id == endpoint.pk]
        for moment in {d.started_at for d in here} | {d.ended_at for d in here if d.ended_at}:
            live = [
                d.traffic_share
                for d in here
                if d.started_at <= moment and (d.ended_at is None or moment < d.ended_at)
            ]
            if live:
                assert float(sum(live)) == pytest.approx(1, abs=5e-4), (endpoint.name, moment)


@pytest.mark.parametrize("days", [1, 3, 30])
def test_the_traffic_split_shown_adds_up_to_100_percent_per_endpoint(days):
    """What the deployment page shows: per endpoint, the declared shares at the window's
    end and the observed shares of its requests in the window each add up to 100%."""
    window = TimeRange(NOW - timedelta(days=days), NOW, "")
    split = traffic_split(Deployment.objects.all(), time_range=window)
    assert set(split.endpoint) == set(Endpoint.objects.values_list("name", flat=True))
    for endpoint, shares in split.groupby("endpoint"):
        declared = [s for s in shares.declared_share if s is not None]
        assert sum(declared) == pytest.approx(1, abs=5e-4), endpoint
        assert shares.declared_adds_up.all(), endpoint
        if shares.inferences.sum():
            assert sum(shares.observed_share) == pytest.approx(1), endpoint
        for row in shares[shares.role == DeploymentRole.SHADOW].itertuples():
            assert row.declared_share in (None, 0.0)
            assert row.inferences == 0 and row.shadow_copies > 0


def test_it_serves_several_models_from_one_endpoint_by_traffic_share():
    active = Deployment.objects.active_between(NOW, NOW + timedelta(seconds=1))
    multi = [
        e
        for e in Endpoint.objects.all()
        if active.filter(endpoint=e).values("model_version__model").distinct().count() > 1
    ]
    assert multi
    endpoint = multi[0]
    shares = {
        d.model_version.model_id: d.traffic_share
        for d in active.filter(endpoint=endpoint, role=DeploymentRole.PRODUCTION)
    }
    counts = {m: _events(endpoint=endpoint, model_id=m).count() for m in shares}
    busiest_share = max(shares, key=shares.get)
    assert max(counts, key=counts.get) == busiest_share


def test_it_serves_events_only_from_versions_deployed_at_the_time():
    deployments = list(Deployment.objects.all())
    events = _events().values_list("model_version_id", "endpoint_id", "timestamp")
    for version_id, endpoint_id, timestamp in events:
        assert any(
            d.model_version_id == version_id
            and d.endpoint_id == endpoint_id
            and d.started_at <= timestamp
            and (d.ended_at is None or timestamp < d.ended_at)
            for d in deployments
        )


def test_it_fills_the_window_ending_now_with_few_ordinary_errors():
    events = _events()
    assert not events.filter(timestamp__lt=NOW - timedelta(days=SMALL["days"])).exists()
    assert not events.filter(timestamp__gte=NOW).exists()
    during_incidents = Q()
    for incident in Incident.objects.all():
        during_incidents |= Q(
            model=incident.model,
            timestamp__gte=incident.started_at,
            timestamp__lt=incident.ended_at,
        )
    ordinary = events.exclude(during_incidents)
    assert 0 < ordinary.filter(status=EventStatus.ERROR).count() < 0.01 * ordinary.count()


def test_each_model_is_called_by_several_apps():
    for model in RegisteredModel.objects.all():
        events = _events(model=model)
        if events.count() >= 30:
            assert events.values("caller").distinct().count() >= 2, model.name


def test_streaming_peaks_in_the_daytime_and_batch_runs_at_night():
    streaming = _events(model__serving_mode=ServingMode.STREAMING)
    day = streaming.filter(timestamp__hour__gte=9, timestamp__hour__lt=18).count()
    night = streaming.filter(timestamp__hour__lt=6).count()
    assert day > 2 * night
    batch = _events(model__serving_mode=ServingMode.BATCH)
    office_hours = batch.filter(timestamp__hour__gte=8, timestamp__hour__lt=20)
    assert batch.count() > 0 and office_hours.count() == 0


def test_it_makes_one_incident_per_failure_class():
    incidents = Incident.objects.all()
    assert sorted(incidents.values_list("failure_class", flat=True)) == sorted(FailureClass)
    for incident in incidents:
        burst = _events(
            model=incident.model,
            endpoint=incident.endpoint,
            error_type=incident.failure_class,
            timestamp__gte=incident.started_at,
            timestamp__lt=incident.ended_at,
        )
        assert burst.count() >= 5, incident.title


def test_the_downtime_incident_fails_most_requests():
    incident = Incident.objects.get(failure_class=FailureClass.DOWNTIME)
    during = _events(
        model=incident.model, timestamp__gte=incident.started_at, timestamp__lt=incident.ended_at
    )
    down = during.filter(error_type=FailureClass.DOWNTIME)
    assert down.count() >= 0.8 * during.count()
    assert not down.filter(latency_ms__isnull=False).exists()


def test_the_drifting_models_inputs_shift_in_the_last_third():
    start = NOW - timedelta(days=SMALL["days"])
    drift_from = NOW - timedelta(days=SMALL["days"]) / 3

    def income(model: str, since, until) -> float:
        rows = _events(model__name=model, timestamp__gte=since, timestamp__lt=until)
        return mean(f["income_k"] for f in rows.values_list("features", flat=True))

    before = income("credit-application-scorer", start, drift_from)
    late = income("credit-application-scorer", NOW - timedelta(hours=12), NOW)
    assert late < 0.85 * before

    def ip_risk(since, until) -> float:
        rows = _events(
            model__name="account-takeover-detector", timestamp__gte=since, timestamp__lt=until
        )
        return mean(f["ip_risk_score"] for f in rows.values_list("features", flat=True))

    halfway = NOW - timedelta(days=SMALL["days"]) / 2
    assert ip_risk(halfway, NOW) == pytest.approx(ip_risk(start, halfway), abs=0.03)


def test_it_makes_one_demo_user_per_role_with_the_demo_password():
    expected = {
        "executive": Role.EXECUTIVE,
        "mlops": Role.MLOPS,
        "datateam": Role.DATA_TEAM,
        "admin": Role.ADMIN,
    }
    for username, role in expected.items():
        user = User.objects.get(username=username)
        assert user.check_password(DEMO_PASSWORD)
        assert list(user.groups.values_list("name", flat=True)) == [role.label]
    assert User.objects.get(username="mlops").is_staff
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert not User.objects.get(username="executive").is_staff
