"""What the demo makes through the real services: the registries' ledger, training runs,
dataset profiles and labels, and the events written straight to the table. Read-only
tests, so the demo is seeded once for the module (small, as in test_seed_demo) and
deleted after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from demo.seed import demo_portfolio_delete, demo_portfolio_seed
from lifecycle.catalog.models import (
    Dataset,
    Deployment,
    Label,
    LifecycleMetric,
    ModelVersion,
    ServingEvent,
)
from lifecycle.catalog.windows import TimeRange
from lifecycle.dataprep.kpis import profile_diff
from lifecycle.dataprep.models import DatasetProfile
from lifecycle.deployment.kpis.endpoints import champion_challenger
from lifecycle.deployment.kpis.milestones import lead_times, time_to_deploy, version_milestones
from lifecycle.deployment.models import ChangeKind, ChangeSource, LifecycleChange, Registry
from lifecycle.development.models import TrainingRun

pytestmark = pytest.mark.django_db

# The seed is built around the moment it is given (--now), and every assertion here
# compares with that moment, never with the clock (only ingestion's received_at reads it):
# a fixed moment far from the clock shows that nothing checked comes from the clock.
NOW = datetime(2025, 6, 4, 12, 0, tzinfo=UTC)  # a Wednesday
SMALL = {"days": 3, "volume": 0.2}
EVER = TimeRange(NOW - timedelta(days=400), NOW, "")


@pytest.fixture(scope="module", autouse=True)
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        summary = demo_portfolio_seed(now=NOW, **SMALL)
        yield summary
        demo_portfolio_delete()


def _events(**filters):
    return ServingEvent.objects.filter(**filters)


def test_every_ledger_registration_precedes_its_promotion_and_its_deployment():
    changes = LifecycleChange.objects.all()
    registered = {
        c.model_version_id: c.happened_before for c in changes.filter(kind=ChangeKind.REGISTERED)
    }
    assert set(registered) == set(ModelVersion.objects.values_list("pk", flat=True))
    promotions = changes.promotions()
    assert promotions.exists()
    for promotion in promotions:
        assert registered[promotion.model_version_id] < promotion.happened_after
    for deployed in changes.filter(kind__in=[ChangeKind.DEPLOYED, ChangeKind.ROLLED_BACK]):
        assert registered[deployed.model_version_id] < deployed.happened_after
        assert deployed.deployment.started_at == deployed.happened_before


def test_every_rollout_is_in_the_ledger_with_a_rollback_and_failed_attempts():
    linked = set(
        LifecycleChange.objects.filter(deployment__isnull=False).values_list(
            "deployment_id", flat=True
        )
    )
    for deployment in Deployment.objects.select_related("model_version"):
        same_version_before = Deployment.objects.filter(
            model_version=deployment.model_version,
            role=deployment.role,
            ended_at=deployment.started_at,
        )
        if not same_version_before.exists():  # not just a new traffic split
            assert deployment.pk in linked, deployment
    assert LifecycleChange.objects.filter(kind=ChangeKind.ROLLED_BACK).count() == 1
    assert LifecycleChange.objects.filter(kind=ChangeKind.DEPLOYMENT_FAILED).count() == 2
    pushed = LifecycleChange.objects.filter(source=ChangeSource.PUSH)
    assert pushed.exists() and not pushed.filter(external_id="").exists()


def test_polled_changes_carry_the_poll_interval_into_time_to_deploy():
    for registry in Registry.objects.all():
        interval = timedelta(minutes=registry.poll_interval_minutes, seconds=4)
        deployed = LifecycleChange.objects.filter(registry=registry, kind=ChangeKind.DEPLOYED)
        assert deployed.exists()
        for change in deployed:
            assert change.source == ChangeSource.POLL
            assert change.happened_before - change.happened_after == interval
    polled = ModelVersion.objects.filter(model__name="credit-application-scorer")
    median, mean = time_to_deploy(version_milestones(polled), time_range=EVER)
    assert median.low < median.value and mean.low < mean.value
    assert median.value - median.low < 1 / 24  # bounded by minutes, not days


def test_lead_time_steps_have_values():
    training, promotion, traffic = lead_times(
        version_milestones(ModelVersion.objects.all()), time_range=EVER
    )
    assert 0 < training.value < 3
    assert 0 < promotion.value < 70
    assert traffic.value is not None and traffic.value >= 0


def test_each_version_has_a_training_run_with_its_dataset_and_metrics():
    for version in ModelVersion.objects.select_related("model").prefetch_related("datasets"):
        run = TrainingRun.objects.get(model_version=version)
        assert run.run_id == version.run_id
        assert run.started_at < version.registered_at
        assert run.dataset_version in version.datasets.all()
        assert 0 <= run.features_transformed + run.features_extracted <= run.features_total
        total = sum(
            (run.labeling_human_pct, run.labeling_semi_supervised_pct, run.labeling_third_party_pct)
        )
        assert total == pytest.approx(100, abs=0.2)
        metrics = LifecycleMetric.objects.filter(
            model_version=version, phase="development", dimensions__run_id=version.run_id
        )
        assert metrics.count() >= 2, version
    names = set(
        LifecycleMetric.objects.filter(model__name="card-fraud-scorer").values_list(
            "name", flat=True
        )
    )
    assert {"auc", "accuracy"} <= names
    assert LifecycleMetric.objects.filter(model__name="price-elasticity", name="mae").exists()


def test_the_newest_two_versions_of_every_dataset_are_profiled():
    kinds = set()
    for dataset in Dataset.objects.all():
        versions = list(dataset.versions.order_by("created_at"))
        profiled = [v for v in versions if DatasetProfile.objects.filter(version=v).exists()]
        assert profiled == versions[-2:], dataset.name
        for version in profiled:
            profile = version.profile
            assert profile.rows > 0 and profile.newest_record_at < version.created_at
            kinds |= {c["kind"] for c in profile.profile["column_profiles"]}
    assert {"numeric", "categorical", "boolean", "datetime", "text", "image"} <= kinds
    assert DatasetProfile.objects.filter(completeness_pct__lt=99).exists()


def _newest_diff(name: str):
    older, newer = Dataset.objects.get(name=name).versions.order_by("-created_at")[:2][::-1]
    return profile_diff(base=older.profile.profile, new=newer.profile.profile)


def test_the_diff_between_the_shifted_versions_flags_the_shift():
    shifted = _newest_diff("credit-applications")
    assert shifted.schema_changed
    flagged = {c.name for c in shifted.flagged}
    assert {"income_k", "applicant_age", "employment_type", "channel"} <= flagged
    assert {"open_banking_consent", "home_phone"} <= flagged
    assert "requested_amount_gbp" not in flagged
    stable = _newest_diff("card-transactions")
    assert not stable.schema_changed
    assert not {"amount_gbp", "merchant_category"} & {c.name for c in stable.flagged}


def test_labels_join_to_existing_events_and_arrive_after_them():
    labels = {label.event_id: label for label in Label.objects.all()}
    assert labels
    events = _events(event_id__in=list(labels)).select_related("model")
    assert events.count() == len(labels)
    assert {e.model.name for e in events} == {
        "account-takeover-detector",
        "credit-application-scorer",
    }
    for event in events:
        label = labels[event.event_id]
        assert event.timestamp < label.timestamp <= NOW
        assert label.label in (0, 1) and event.prediction is not None
    scored = _events(model__name="account-takeover-detector", prediction__isnull=False)
    assert (
        0.1
        < len([e for e in events if e.model.name == "account-takeover-detector"]) / (scored.count())
        < 0.9
    )


def test_champion_and_challenger_accuracy_come_from_the_labels():
    window = TimeRange(NOW - timedelta(days=SMALL["days"]), NOW, "")
    comparisons = {
        c.model: c for c in champion_challenger(Deployment.objects.all(), time_range=window)
    }
    ato = comparisons["account-takeover-detector"]
    assert ato.champion.labelled > 0 and ato.challenger.labelled > 0
    assert 0 < ato.champion.accuracy <= 1
    assert ato.agreement is not None and ato.agreement > 0.3


def test_events_written_straight_read_back_exactly_as_the_orm_would_write_them():
    for event in _events().exclude(cost_usd__isnull=True, features__isnull=True)[:50]:
        assert _events(
            pk=event.pk,
            timestamp=event.timestamp,
            received_at=event.received_at,
            cost_usd=event.cost_usd,
        ).exists()
    with_inputs = _events(features__isnull=False).first()
    assert isinstance(with_inputs.features, dict)
    assert _events(pk=with_inputs.pk, features=with_inputs.features).exists()
