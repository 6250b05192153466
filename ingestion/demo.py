"""A deterministic, realistic demo portfolio for the embedded install and for screenshots.

`demo_portfolio_seed` plans everything first from `random.Random(seed)` (catalog, version
and deployment history, incidents), writes the catalog, then simulates serving traffic
endpoint by endpoint with numpy Generators seeded from (seed, endpoint name), so the same
`now` and `seed` always give the same rows. Volumes are scaled down from real life (a
nightly batch job scores hundreds of rows here, not millions) so the whole thing fits in
SQLite in well under a minute; the shapes, ratios and stories are what matter.
"""

from __future__ import annotations

import math
import random
import uuid
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.db.models import ProtectedError

from ingestion.rollups import rollups_rebuild
from lifecycle.catalog.models import (
    Dataset,
    DatasetVersion,
    DataSource,
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
from lifecycle.catalog.roles import role_groups_ensure
from lifecycle.monitoring.models import Incident

DEFAULT_SEED = 7
DEMO_PASSWORD = "kpiboard-demo"
# Demo users are recognised by this address, so --reset never deletes a real "admin".
DEMO_EMAIL_DOMAIN = "demo.kpiboard.invalid"
DEMO_USERS = (
    ("executive", Role.EXECUTIVE),
    ("mlops", Role.MLOPS),
    ("datateam", Role.DATA_TEAM),
    ("admin", Role.ADMIN),
)

STREAMING, BATCH = ServingMode.STREAMING, ServingMode.BATCH
PRODUCTION, SHADOW, CANARY = DeploymentRole.PRODUCTION, DeploymentRole.SHADOW, DeploymentRole.CANARY


# --- what the demo portfolio holds -------------------------------------------------------

INDUSTRIES = (
    ("payments-fraud", "Card, account and payment fraud detection."),
    ("ecommerce-recommendations", "Recommendations, ranking and pricing for the online shop."),
    ("email-send-time", "Email send-time optimisation and campaign targeting."),
    ("credit-risk", "Credit decisioning, limits, provisioning and collections."),
    ("customer-support", "Routing, triage and reply assistance for support conversations."),
)
TEAMS = (  # name, business unit, description
    ("fraud-risk", "Payments", "Fraud and risk analytics for card and account payments."),
    ("recsys", "E-commerce", "Recommendations and personalisation."),
    ("search-relevance", "E-commerce", "Search ranking."),
    ("lifecycle-marketing", "Marketing", "CRM, email and retention campaigns."),
    ("credit-decisioning", "Lending", "Credit models for the consumer-lending book."),
    ("support-automation", "Customer Operations", "Automation for the support centre."),
    ("ml-platform", "Technology", "Shared serving infrastructure."),
)


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    team: str
    source: str
    description: str


DATASETS = tuple(
    DatasetSpec(*row)
    for row in (
        ("card-transactions", "fraud-risk", DataSource.FIRST_PARTY, "Authorised card payments."),
        ("chargeback-labels", "fraud-risk", DataSource.FIRST_PARTY, "Confirmed fraud labels."),
        ("device-fingerprints", "fraud-risk", DataSource.THIRD_PARTY, "Vendor device intel."),
        ("login-events", "fraud-risk", DataSource.FIRST_PARTY, "Logins and password resets."),
        ("clickstream-sessions", "recsys", DataSource.FIRST_PARTY, "Shop sessions and clicks."),
        ("product-catalog", "recsys", DataSource.FIRST_PARTY, "Products with embeddings."),
        ("order-history", "recsys", DataSource.FIRST_PARTY, "Orders and baskets."),
        ("search-queries", "search-relevance", DataSource.FIRST_PARTY, "Queries and clicks."),
        ("email-engagement", "lifecycle-marketing", DataSource.FIRST_PARTY, "Sends and opens."),
        ("customer-profiles", "lifecycle-marketing", DataSource.FIRST_PARTY, "CRM profiles."),
        ("credit-applications", "credit-decisioning", DataSource.FIRST_PARTY, "Applications."),
        ("bureau-reports", "credit-decisioning", DataSource.THIRD_PARTY, "Credit bureau files."),
        ("repayment-history", "credit-decisioning", DataSource.FIRST_PARTY, "Loan repayments."),
        ("open-banking", "credit-decisioning", DataSource.THIRD_PARTY, "Account transactions."),
        ("support-tickets", "support-automation", DataSource.FIRST_PARTY, "Tickets, labelled."),
        ("chat-transcripts", "support-automation", DataSource.FIRST_PARTY, "Chat, redacted."),
    )
)


@dataclass(frozen=True)
class EndpointSpec:
    name: str
    team: str
    mode: str
    daily_volume: int
    # Streaming: the busiest hour (UTC) and how wide the daily peak is, in hours.
    # Batch: the hour the nightly job starts and how many hours it runs.
    peak_hour: int
    spread_hours: float
    weekend: float  # a weekend day's traffic relative to a weekday's (0: weekdays only)
    description: str = ""


ENDPOINTS = tuple(
    EndpointSpec(*row)
    for row in (
        ("card-fraud-online", "fraud-risk", STREAMING, 1150, 13, 4.5, 0.85),
        ("ato-online", "fraud-risk", STREAMING, 430, 12, 5, 0.8),
        ("payment-anomaly-online", "fraud-risk", STREAMING, 300, 11, 4, 0.6),
        ("recs-gateway", "ml-platform", STREAMING, 1600, 20, 3.5, 0.95, "Shop recommenders."),
        ("search-rerank-online", "search-relevance", STREAMING, 700, 20, 4, 0.9),
        ("subject-lines-online", "lifecycle-marketing", STREAMING, 220, 10, 2.5, 0.3),
        ("credit-scoring-online", "credit-decisioning", STREAMING, 360, 14, 4, 0.5),
        ("affordability-online", "credit-decisioning", STREAMING, 250, 14, 4, 0.5),
        ("ticket-routing-online", "support-automation", STREAMING, 320, 11, 3.5, 0.4),
        ("sentiment-online", "support-automation", STREAMING, 340, 12, 4, 0.5),
        ("reply-suggestions-online", "support-automation", STREAMING, 180, 12, 3.5, 0.4),
        ("merchant-risk-nightly", "fraud-risk", BATCH, 150, 1, 2, 1.0),
        ("chargeback-nightly", "fraud-risk", BATCH, 110, 2, 1, 1.0),
        ("feed-nightly", "recsys", BATCH, 380, 3, 2, 1.0),
        ("pricing-nightly", "recsys", BATCH, 90, 4, 1, 0.0),
        ("send-time-nightly", "lifecycle-marketing", BATCH, 300, 4, 2, 0.6),
        ("churn-nightly", "lifecycle-marketing", BATCH, 150, 0, 2, 1.0),
        ("credit-limit-nightly", "credit-decisioning", BATCH, 110, 22, 2, 0.0),
        ("pd-nightly", "credit-decisioning", BATCH, 130, 23, 3, 1.0),
        ("collections-nightly", "credit-decisioning", BATCH, 100, 5, 1, 0.0),
        ("support-forecast-nightly", "support-automation", BATCH, 60, 2, 1, 1.0),
    )
)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    industry: str
    team: str
    mode: str
    endpoint: str
    unit_cost_usd: str
    sla: tuple[float, float, float]  # p95 latency ms, error rate, uptime
    callers: tuple[str, ...]
    datasets: tuple[str, ...]
    description: str
    share: float = 1.0  # of the endpoint's traffic
    first_registered_days: float = 158  # days before now, give or take 20
    versions: int = 4
    now_role: str = ""  # a challenger on "canary" or in "shadow" right now
    canary_share: float = 0.1  # of the model's own traffic
    rolled_back: bool = False  # its latest rollout failed (the deployment incident)
    features: str = ""  # "drifting", "login" or "send_time": events carry inputs
    p95_of_sla: float = 0.0  # where p95 sits against the SLA (0: comfortably below)
    variable_cost: bool = False  # events carry their own cost (tokens vary)


def _m(name, industry, team, mode, endpoint, cost, sla, callers, datasets, text, **kw):
    return ModelSpec(name, industry, team, mode, endpoint, cost, sla, callers, datasets, text, **kw)


_WEB = ("web-storefront", "ios-app", "android-app")
# fmt: off
MODELS = (
    # payments fraud
    _m("card-fraud-scorer", "payments-fraud", "fraud-risk", STREAMING, "card-fraud-online",
       "0.00015", (80, 0.005, 0.999), ("card-auth-gateway", "checkout-api", "chargeback-ui"),
       ("card-transactions", "chargeback-labels", "device-fingerprints"),
       "Scores card authorisations for fraud in the payment path.", now_role="canary"),
    _m("account-takeover-detector", "payments-fraud", "fraud-risk", STREAMING, "ato-online",
       "0.0001", (120, 0.005, 0.999), ("login-service", "password-reset", "mobile-backend"),
       ("login-events", "device-fingerprints"), "Flags risky logins and password resets.",
       now_role="shadow", features="login"),
    _m("payment-anomaly-detector", "payments-fraud", "fraud-risk", STREAMING,
       "payment-anomaly-online", "0.00008", (150, 0.01, 0.995),
       ("payments-ledger", "treasury-monitor"), ("card-transactions",),
       "Spots unusual payment flows for treasury.", versions=3),
    _m("merchant-risk-rescoring", "payments-fraud", "fraud-risk", BATCH, "merchant-risk-nightly",
       "0.00002", (300, 0.01, 0.99), ("merchant-onboarding", "risk-reporting"),
       ("card-transactions", "chargeback-labels"), "Nightly risk grade for every merchant."),
    _m("chargeback-predictor", "payments-fraud", "fraud-risk", BATCH, "chargeback-nightly",
       "0.00002", (250, 0.01, 0.99), ("disputes-service", "finance-reporting"),
       ("chargeback-labels", "card-transactions"), "Predicts which payments will be disputed.",
       versions=3),
    # e-commerce recommendations
    _m("homepage-recommender", "ecommerce-recommendations", "recsys", STREAMING, "recs-gateway",
       "0.00004", (60, 0.01, 0.995), _WEB, ("clickstream-sessions", "product-catalog"),
       "Personalised homepage carousels.", share=0.5, now_role="canary", canary_share=0.1),
    _m("similar-items", "ecommerce-recommendations", "recsys", STREAMING, "recs-gateway",
       "0.00003", (50, 0.01, 0.995), (*_WEB, "email-renderer"),
       ("product-catalog", "clickstream-sessions"), "Items like the one on the page.",
       share=0.3),
    _m("basket-completion", "ecommerce-recommendations", "recsys", STREAMING, "recs-gateway",
       "0.00003", (70, 0.01, 0.995), ("web-checkout", "ios-app"),
       ("order-history", "product-catalog"), "Suggests add-ons at checkout.", share=0.2,
       first_registered_days=75, versions=2),
    _m("search-reranker", "ecommerce-recommendations", "search-relevance", STREAMING,
       "search-rerank-online", "0.00008", (90, 0.005, 0.999), ("search-api", "ios-app"),
       ("search-queries", "clickstream-sessions"), "Re-ranks search results with a "
       "cross-encoder.", rolled_back=True),
    _m("personalised-feed-builder", "ecommerce-recommendations", "recsys", BATCH,
       "feed-nightly", "0.00001", (200, 0.01, 0.99),
       ("feed-service", "push-notifications", "email-renderer"),
       ("clickstream-sessions", "order-history"), "Builds tomorrow's feed for every user."),
    _m("price-elasticity", "ecommerce-recommendations", "recsys", BATCH, "pricing-nightly",
       "0.00005", (500, 0.01, 0.99), ("pricing-engine", "merchandising-ui"),
       ("order-history", "product-catalog"), "Elasticity per product for the pricing engine.",
       versions=3),
    # email send-time optimisation
    _m("send-time-optimiser", "email-send-time", "lifecycle-marketing", BATCH,
       "send-time-nightly", "0.000008", (150, 0.01, 0.99), ("campaign-scheduler", "crm-sync"),
       ("email-engagement", "customer-profiles"), "Best hour to send each recipient's email.",
       features="send_time"),
    _m("subject-line-ranker", "email-send-time", "lifecycle-marketing", STREAMING,
       "subject-lines-online", "0.00006", (200, 0.01, 0.99),
       ("campaign-builder", "crm-sync", "ab-test-service"), ("email-engagement",),
       "Ranks candidate subject lines by predicted open rate.", versions=3),
    _m("churn-propensity", "email-send-time", "lifecycle-marketing", BATCH, "churn-nightly",
       "0.00001", (300, 0.01, 0.99), ("crm-sync", "retention-campaigns", "bi-dashboards"),
       ("customer-profiles", "order-history"), "Who is about to lapse, for retention mails.",
       now_role="shadow"),
    # credit risk
    _m("credit-application-scorer", "credit-risk", "credit-decisioning", STREAMING,
       "credit-scoring-online", "0.00025", (250, 0.002, 0.999),
       ("loan-origination", "partner-api", "branch-portal"),
       ("credit-applications", "bureau-reports", "repayment-history"),
       "Scores consumer-loan applications (probability of default).", now_role="shadow",
       features="drifting"),
    _m("affordability-check", "credit-risk", "credit-decisioning", STREAMING,
       "affordability-online", "0.0004", (400, 0.005, 0.999),
       ("loan-origination", "credit-limit-service"), ("bureau-reports", "open-banking"),
       "Estimates disposable income from bureau and open-banking data.", p95_of_sla=0.9),
    _m("credit-limit-optimiser", "credit-risk", "credit-decisioning", BATCH,
       "credit-limit-nightly", "0.00003", (400, 0.01, 0.99),
       ("credit-limit-service", "risk-reporting"), ("repayment-history", "bureau-reports"),
       "Proposes limit increases and decreases each weekday.", versions=3),
    _m("pd-model-retail", "credit-risk", "credit-decisioning", BATCH, "pd-nightly", "0.00002",
       (400, 0.005, 0.995), ("ifrs9-provisioning", "risk-reporting"),
       ("repayment-history", "credit-applications"), "Probability of default for provisioning."),
    _m("collections-prioritiser", "credit-risk", "credit-decisioning", BATCH,
       "collections-nightly", "0.00002", (300, 0.01, 0.99),
       ("collections-dialler", "agent-workbench"), ("repayment-history",),
       "Orders tomorrow's collections calls.", versions=3),
    # customer support
    _m("ticket-router", "customer-support", "support-automation", STREAMING,
       "ticket-routing-online", "0.00005", (150, 0.01, 0.995),
       ("helpdesk", "email-gateway", "chat-widget"), ("support-tickets",),
       "Routes new tickets to the right queue."),
    _m("sentiment-classifier", "customer-support", "support-automation", STREAMING,
       "sentiment-online", "0.00004", (100, 0.01, 0.995),
       ("helpdesk", "chat-widget", "survey-service"), ("support-tickets", "chat-transcripts"),
       "Tags messages with sentiment and urgency.", now_role="canary", canary_share=0.2),
    _m("reply-suggester", "customer-support", "support-automation", STREAMING,
       "reply-suggestions-online", "0.0021", (1500, 0.02, 0.99), ("helpdesk", "chat-widget"),
       ("chat-transcripts", "support-tickets"), "Drafts agent replies with a fine-tuned LLM.",
       first_registered_days=62, versions=2, p95_of_sla=0.97, variable_cost=True),
    _m("ticket-backlog-forecaster", "customer-support", "support-automation", BATCH,
       "support-forecast-nightly", "0.00005", (800, 0.01, 0.99),
       ("workforce-planning", "support-dashboards"),
       ("support-tickets",), "Forecasts tomorrow's ticket volume per queue.", versions=3),
)
# fmt: on


@dataclass(frozen=True)
class IncidentSpec:
    failure_class: str
    model: str
    position: float  # how far back in the event window it starts (0: now, 1: window start)
    hour: int
    minute: int
    minutes: int
    error_share: float  # share of the model's requests failing in this class meanwhile
    slowdown: float  # latency multiplier for the requests that still succeed
    retries: float  # extra failed calls (client retries) per failed call
    title: str
    description: str
    caller: str = ""  # only this caller's requests fail


# fmt: off
INCIDENTS = (
    IncidentSpec(
        FailureClass.DEPENDENCY, "card-fraud-scorer", 0.85, 11, 20, 95, 0.3, 1.4, 0.3,
        "Feature store failover: card velocity features unavailable",
        "The online feature store's primary failed over; velocity lookups errored and the "
        "scorer failed about a third of authorisations until the replica caught up."),
    IncidentSpec(
        FailureClass.TIMEOUT, "affordability-check", 0.7, 14, 5, 130, 0.35, 2.2, 0.5,
        "Credit bureau API slow: affordability checks time out",
        "The bureau answered in seconds instead of milliseconds; calls hit the client "
        "timeout and loan applications queued for manual review."),
    IncidentSpec(
        FailureClass.OTHER, "homepage-recommender", 0.6, 19, 10, 70, 0.2, 1.0, 0.2,
        "Unhandled NaN in embedding lookup after a catalog import",
        "A catalog import left new products without embeddings; the model raised on NaN "
        "vectors for every request that touched them."),
    IncidentSpec(
        FailureClass.DEPLOYMENT, "search-reranker", 0.45, 15, 0, 45, 0.7, 1.0, 0.2,
        "search-reranker v{bad} rollout failed: tokenizer missing, rolled back to v{good}",
        "The new version's image was built without its tokenizer files. Replicas crashed on "
        "load and most searches fell back to unranked results until the rollout was "
        "reverted."),
    IncidentSpec(
        FailureClass.BAD_REQUEST, "subject-line-ranker", 0.3, 9, 0, 150, 0.9, 1.0, 2.0,
        "crm-sync sends payloads without campaign_id after its schema change",
        "A CRM connector release renamed a field; every request from crm-sync was rejected "
        "with HTTP 400 and the connector retried aggressively.", caller="crm-sync"),
    IncidentSpec(
        FailureClass.HARDWARE, "reply-suggester", 0.22, 13, 40, 180, 0.3, 1.7, 0.3,
        "GPU node with uncorrectable ECC errors",
        "One of three GPU nodes reported uncorrectable memory errors; requests routed to it "
        "failed and the other two ran hot until the node was cordoned."),
    IncidentSpec(
        FailureClass.DOWNTIME, "ticket-router", 0.1, 8, 15, 50, 0.95, 1.0, 0.5,
        "ticket-router crash loop: out of memory after a dependency upgrade",
        "A dependency upgrade doubled memory use; pods were OOM-killed in a loop and the "
        "router served almost nothing for 50 minutes. Tickets went to the default queue."),
)
# fmt: on

_US = 1_000_000
_HOUR = 3600 * _US
_DAY = 24 * _HOUR
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CLASSES = [c.value for c in FailureClass]  # error code k (1-based) is _CLASSES[k - 1]
# Ordinary background errors: mostly clients sending bad input, and slow calls.
_BASELINE_MIX = {"bad_request": 0.4, "timeout": 0.25, "dependency": 0.2, "other": 0.15}
_MIN_BURST = 6  # every incident leaves at least this many failed calls, at any scale
_BATCH_SIZE = 5000


def _code(failure_class: str) -> int:
    return _CLASSES.index(failure_class) + 1


class DemoSeedError(Exception):
    """The demo cannot be seeded into this database as it stands; the message says why."""


@dataclass(frozen=True)
class DemoSummary:
    now: datetime
    seed: int
    window_start: datetime
    industries: int
    teams: int
    business_units: tuple[str, ...]
    models_by_mode: dict[str, int]
    versions: int
    endpoints: int
    multi_model_endpoints: tuple[str, ...]
    deployments_by_role: dict[str, int]
    active_by_role: dict[str, int]
    datasets: int
    dataset_versions: int
    events: int
    error_events: int
    incidents_by_class: dict[str, int]
    drifting_model: str
    users: tuple[tuple[str, str], ...]
    password: str

    def lines(self) -> list[str]:
        roles = ", ".join(f"{r} {self.deployments_by_role.get(r, 0)}" for r in DeploymentRole)
        active = ", ".join(f"{r} {self.active_by_role.get(r, 0)}" for r in DeploymentRole)
        error_share = self.error_events / self.events if self.events else 0.0
        return [
            f"Demo portfolio at {self.now:%Y-%m-%d %H:%M} UTC (seed {self.seed}), "
            f"events since {self.window_start:%Y-%m-%d %H:%M} UTC:",
            f"  industries: {self.industries}",
            f"  teams: {self.teams} (business units: {', '.join(self.business_units)})",
            f"  models: {sum(self.models_by_mode.values())} "
            f"({self.models_by_mode.get(STREAMING, 0)} streaming, "
            f"{self.models_by_mode.get(BATCH, 0)} batch) with {self.versions} versions",
            f"  endpoints: {self.endpoints} (multi-model: {', '.join(self.multi_model_endpoints)})",
            f"  deployments: {sum(self.deployments_by_role.values())} ({roles}); "
            f"active now: {active}",
            f"  datasets: {self.datasets} with {self.dataset_versions} versions",
            f"  serving events: {self.events:,} ({error_share:.2%} errors); "
            f"inputs drift on {self.drifting_model}",
            "  incidents: "
            + ", ".join(f"{c} {self.incidents_by_class.get(c, 0)}" for c in _CLASSES),
            f"  users (password {self.password}): "
            + ", ".join(f"{name} ({role})" for name, role in self.users),
        ]


def _quiet(message: str) -> None:
    pass


def demo_portfolio_seed(
    *,
    now: datetime,
    seed: int = DEFAULT_SEED,
    days: int = 30,
    volume: float = 1.0,
    reset: bool = False,
    progress: Callable[[str], None] = _quiet,
) -> DemoSummary:
    """Fill the catalog, deployment history, `days` of serving events ending at `now`,
    incidents and demo users, all in one transaction. `volume` scales the traffic (tests
    use a small one). Refuses (DemoSeedError) when models exist, unless `reset`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if days < 2 or volume <= 0:
        raise ValueError("days must be at least 2 and volume positive")
    now = now.astimezone(UTC)
    with transaction.atomic():
        if reset:
            demo_portfolio_delete(progress=progress)
        elif RegisteredModel.objects.exists():
            raise DemoSeedError(
                "The catalog already holds models, and seed_demo only fills an empty one. "
                "Run it with --reset to delete the demo portfolio and demo users first."
            )
        users = _users_write()  # first: it may refuse, and then nothing else is wasted
        progress(f"users: {', '.join(name for name, _ in users)}")
        plan = _plan(now=now, seed=seed, days=days)
        rows = _catalog_write(plan, progress)
        events, errors = _events_write(plan, rows, volume=volume, progress=progress)
        _incidents_write(plan, rows)
        progress(f"incidents: {len(plan.incidents)}, one per failure class")
    rollups_rebuild()  # the events were written straight to the table: roll them up now

    endpoint_models = Counter(m.endpoint for m in MODELS)
    return DemoSummary(
        now=now,
        seed=seed,
        window_start=plan.start,
        industries=len(INDUSTRIES),
        teams=len(TEAMS),
        business_units=tuple(sorted({unit for _, unit, _ in TEAMS})),
        models_by_mode=dict(Counter(m.mode for m in MODELS)),
        versions=len(plan.versions),
        endpoints=len(ENDPOINTS),
        multi_model_endpoints=tuple(name for name, n in endpoint_models.items() if n > 1),
        deployments_by_role=dict(Counter(d.role for d in plan.deployments)),
        active_by_role=dict(Counter(d.role for d in plan.deployments if d.active_at(now))),
        datasets=len(DATASETS),
        dataset_versions=sum(len(v) for v in plan.dataset_versions.values()),
        events=events,
        error_events=errors,
        incidents_by_class=dict(Counter(i.spec.failure_class for i in plan.incidents)),
        drifting_model=next(m.name for m in MODELS if m.features == "drifting"),
        users=users,
        password=DEMO_PASSWORD,
    )


def demo_portfolio_delete(*, progress: Callable[[str], None] = _quiet) -> None:
    """Delete the demo's catalog and monitoring rows (found by their names), with their
    events, and the demo users. Rows the demo did not make are left alone."""
    models = [m.name for m in MODELS]
    with transaction.atomic():
        # Events first, as one DELETE: cascading them from the models would collect
        # hundreds of thousands of rows in Python.
        deleted, _ = ServingEvent.objects.filter(model__name__in=models).delete()
        Incident.objects.filter(model__name__in=models).delete()
        Deployment.objects.filter(model_version__model__name__in=models).delete()
        RegisteredModel.objects.filter(name__in=models).delete()
        try:
            Endpoint.objects.filter(name__in=[e.name for e in ENDPOINTS]).delete()
            Dataset.objects.filter(name__in=[d.name for d in DATASETS]).delete()
            Team.objects.filter(name__in=[name for name, _, _ in TEAMS]).delete()
            Industry.objects.filter(name__in=[name for name, _ in INDUSTRIES]).delete()
        except ProtectedError as exc:
            blocking = ", ".join(sorted({str(o) for o in exc.protected_objects})[:5])
            raise DemoSeedError(
                f"Cannot delete the demo portfolio: rows it did not make still use it "
                f"({blocking}). Move or delete them first."
            ) from exc
        User.objects.filter(email__endswith=f"@{DEMO_EMAIL_DOMAIN}").delete()
    progress(f"reset: deleted the demo portfolio ({deleted:,} events) and demo users")


# --- planning: everything but the traffic, decided up front from one random.Random ------


@dataclass(eq=False)
class _VersionPlan:
    model: ModelSpec
    name: str
    registered_at: datetime
    latency_factor: float
    run_id: str
    description: str


@dataclass(eq=False)
class _DeploymentPlan:
    version: _VersionPlan
    role: str
    share: float
    start: datetime
    end: datetime | None

    def active_at(self, t: datetime) -> bool:
        return self.start <= t and (self.end is None or t < self.end)


@dataclass(frozen=True)
class _IncidentPlan:
    spec: IncidentSpec
    start: datetime
    end: datetime
    title: str
    description: str


@dataclass(frozen=True)
class _ModelNumbers:
    latency_median_ms: float
    latency_sigma: float
    error_rate: float
    timeout_ms: float


@dataclass
class _Plan:
    now: datetime
    start: datetime
    seed: int
    versions: list[_VersionPlan] = field(default_factory=list)
    deployments: list[_DeploymentPlan] = field(default_factory=list)
    dataset_versions: dict[str, list[datetime]] = field(default_factory=dict)
    incidents: list[_IncidentPlan] = field(default_factory=list)
    numbers: dict[str, _ModelNumbers] = field(default_factory=dict)

    @property
    def drift_start(self) -> datetime:
        # The last third of the window: ten days of a thirty-day demo.
        return self.now - (self.now - self.start) / 3


_RELEASE_NOTES = (
    "Retrained on the latest data.",
    "Retrained; added two behavioural features.",
    "Hyper-parameter sweep; smaller trees.",
    "New architecture, distilled for latency.",
    "Retrained after a label backfill.",
    "Calibration fix; same features.",
)


def _workday(t: datetime, rand: random.Random) -> datetime:
    """People register and promote models on weekdays, in office hours."""
    t = t.replace(hour=rand.randint(9, 16), minute=rand.randint(0, 59), second=0, microsecond=0)
    while t.weekday() >= 5:
        t += timedelta(days=1)
    return t


def _incident_window(spec: IncidentSpec, *, now: datetime, start: datetime) -> tuple:
    anchor = now - (now - start) * spec.position
    begin = anchor.replace(hour=spec.hour, minute=spec.minute, second=0, microsecond=0)
    duration = timedelta(minutes=spec.minutes)
    while begin < start + timedelta(hours=1):
        begin += timedelta(days=1)
    while begin + duration > now - timedelta(minutes=5):
        begin -= timedelta(days=1)
    return begin, begin + duration


def _new_version(spec: ModelSpec, number: int, registered_at: datetime, rand, note: str):
    return _VersionPlan(
        model=spec,
        name=str(number),
        registered_at=registered_at,
        latency_factor=rand.uniform(0.85, 1.1),
        run_id=f"{rand.getrandbits(128):032x}",
        description=note,
    )


def _history_plan(
    spec: ModelSpec,
    rand: random.Random,
    *,
    now: datetime,
    register_before: datetime,
    deploy_before: datetime,
) -> tuple[list[_VersionPlan], list[_DeploymentPlan]]:
    """Registrations every few weeks, each promoted to production after a realistic time
    to deploy (days to about two months) replacing the one before; some promotions were
    preceded by a shadow period. Versions that would land after `deploy_before` wait."""
    first = now - timedelta(days=spec.first_registered_days + rand.uniform(0, 20))
    registered = [_workday(first, rand)]
    while len(registered) < spec.versions:
        nxt = _workday(registered[-1] + timedelta(days=rand.uniform(18, 45)), rand)
        if nxt >= register_before:
            break
        registered.append(nxt)

    versions: list[_VersionPlan] = []
    deployments: list[_DeploymentPlan] = []
    champion: _DeploymentPlan | None = None
    for number, registered_at in enumerate(registered, start=1):
        note = rand.choice(_RELEASE_NOTES) if number > 1 else "First model."
        version = _new_version(spec, number, registered_at, rand, note)
        versions.append(version)
        days_to_deploy = min(62.0, max(3.0, rand.lognormvariate(math.log(22), 0.6)))
        start = _workday(registered_at + timedelta(days=days_to_deploy), rand)
        if champion is None:
            # Even the newest models reach production well inside the event window.
            start = min(start, _workday(now - timedelta(days=16), rand))
        else:
            start = max(start, _workday(champion.start + timedelta(days=4), rand))
        if start >= deploy_before:
            version.description += " Not promoted."
            continue
        if champion is not None:
            if rand.random() < 0.35:
                shadow_from = max(registered_at + timedelta(days=1), start - timedelta(days=6))
                if shadow_from < start:
                    deployments.append(_DeploymentPlan(version, SHADOW, 0.0, shadow_from, start))
            champion.end = start
        champion = _DeploymentPlan(version, PRODUCTION, spec.share, start, None)
        deployments.append(champion)
    assert champion is not None, spec.name
    return versions, deployments


def _plan(*, now: datetime, seed: int, days: int) -> _Plan:
    rand = random.Random(seed)
    plan = _Plan(now=now, start=now - timedelta(days=days), seed=seed)
    windows = {i.model: _incident_window(i, now=now, start=plan.start) for i in INCIDENTS}
    # Challengers went live a few days ago (sooner in a short window).
    recent = min(timedelta(days=days) * 0.4, timedelta(days=4))
    rollback_names = {"bad": "", "good": ""}

    for spec in MODELS:
        register_before, deploy_before = now - timedelta(days=2), now
        if spec.now_role:
            register_before, deploy_before = now - timedelta(days=40), now - timedelta(days=8)
        if spec.rolled_back:
            t0 = windows[spec.name][0]
            register_before, deploy_before = t0 - timedelta(days=30), t0 - timedelta(days=3)
        versions, deployments = _history_plan(
            spec, rand, now=now, register_before=register_before, deploy_before=deploy_before
        )
        champion = deployments[-1]
        number = len(versions) + 1

        if spec.now_role:
            registered = now - timedelta(days=rand.uniform(7, 16))
            challenger = _new_version(
                spec, number, registered, rand, "Challenger retrained on the latest data."
            )
            versions.append(challenger)
            since = (now - recent * rand.uniform(0.6, 1.0)).replace(second=0, microsecond=0)
            if spec.now_role == CANARY:
                # A traffic split is a new deployment row: shares on an endpoint add up to 1.
                champion.end = since
                kept = spec.share * (1 - spec.canary_share)
                deployments += [
                    _DeploymentPlan(champion.version, PRODUCTION, kept, since, None),
                    _DeploymentPlan(
                        challenger, CANARY, spec.share * spec.canary_share, since, None
                    ),
                ]
            else:
                deployments.append(_DeploymentPlan(challenger, SHADOW, 0.0, since, None))
        if spec.rolled_back:
            t0, t1 = windows[spec.name]
            registered = t0 - timedelta(days=rand.uniform(8, 14))
            bad = _new_version(spec, number, registered, rand, "Tokenizer upgrade. Rolled back.")
            versions.append(bad)
            champion.end = t0
            deployments += [
                _DeploymentPlan(bad, PRODUCTION, spec.share, t0, t1),
                _DeploymentPlan(champion.version, PRODUCTION, spec.share, t1, None),
            ]
            rollback_names = {"bad": bad.name, "good": champion.version.name}
        plan.versions += versions
        plan.deployments += deployments

        sigma = rand.uniform(0.3, 0.55)
        p95 = spec.sla[0] * (spec.p95_of_sla or rand.uniform(0.55, 0.8))
        plan.numbers[spec.name] = _ModelNumbers(
            # /1.1: streaming latency rises by up to 15% at the daily peak.
            latency_median_ms=p95 / math.exp(1.645 * sigma) / 1.1,
            latency_sigma=sigma,
            error_rate=spec.sla[1] * rand.uniform(0.1, 0.35),
            timeout_ms=round(spec.sla[0] * 10, -1),
        )

    for spec in DATASETS:
        created = [(now - timedelta(days=rand.uniform(195, 235))).replace(microsecond=0)]
        while (nxt := created[-1] + timedelta(days=rand.uniform(14, 45))) < now:
            created.append(nxt)
        plan.dataset_versions[spec.name] = created

    for spec in INCIDENTS:
        begin, end = windows[spec.model]
        plan.incidents.append(
            _IncidentPlan(
                spec,
                begin,
                end,
                spec.title.format(**rollback_names),
                spec.description.format(**rollback_names),
            )
        )
    return plan


# --- writing the catalog -------------------------------------------------------------------


@dataclass(frozen=True)
class _Rows:
    models: dict[str, RegisteredModel]
    endpoints: dict[str, Endpoint]
    deployments: list[Deployment]  # parallel to plan.deployments


def _catalog_write(plan: _Plan, progress: Callable[[str], None]) -> _Rows:
    industries = {
        name: Industry.objects.get_or_create(name=name, defaults={"description": text})[0]
        for name, text in INDUSTRIES
    }
    teams = {
        name: Team.objects.get_or_create(
            name=name, defaults={"business_unit": unit, "description": text}
        )[0]
        for name, unit, text in TEAMS
    }
    endpoints = {
        spec.name: Endpoint.objects.get_or_create(
            name=spec.name,
            defaults={
                "team": teams[spec.team],
                "url": f"https://serving.example.com/{spec.name}/invocations",
                "description": spec.description,
            },
        )[0]
        for spec in ENDPOINTS
    }
    dataset_versions: dict[str, list[DatasetVersion]] = {}
    for spec in DATASETS:
        created = plan.dataset_versions[spec.name]
        dataset = Dataset.objects.create(
            name=spec.name, team=teams[spec.team], source=spec.source, description=spec.description
        )
        # created_at is auto_now_add; the demo's own history says when the data started.
        Dataset.objects.filter(pk=dataset.pk).update(created_at=created[0])
        dataset_versions[spec.name] = DatasetVersion.objects.bulk_create(
            DatasetVersion(dataset=dataset, version=str(n), created_at=at)
            for n, at in enumerate(created, start=1)
        )

    models = {
        spec.name: RegisteredModel.objects.create(
            name=spec.name,
            description=spec.description,
            team=teams[spec.team],
            industry=industries[spec.industry],
            serving_mode=spec.mode,
            unit_cost_usd=Decimal(spec.unit_cost_usd),
            sla_latency_p95_ms=spec.sla[0],
            sla_error_rate=spec.sla[1],
            sla_uptime=spec.sla[2],
        )
        for spec in MODELS
    }
    versions = ModelVersion.objects.bulk_create(
        ModelVersion(
            model=models[v.model.name],
            version=v.name,
            registered_at=v.registered_at,
            run_id=v.run_id,
            description=v.description,
        )
        for v in plan.versions
    )
    for spec in MODELS:
        first = min(v.registered_at for v in plan.versions if v.model is spec)
        RegisteredModel.objects.filter(name=spec.name).update(created_at=first)

    # Each version was trained on the newest version of its datasets at the time.
    through = ModelVersion.datasets.through
    links = []
    for planned, version in zip(plan.versions, versions, strict=True):
        for name in planned.model.datasets:
            older = [dv for dv in dataset_versions[name] if dv.created_at < planned.registered_at]
            if older:
                links.append(through(modelversion_id=version.pk, datasetversion_id=older[-1].pk))
    through.objects.bulk_create(links)

    version_row = {id(v): row for v, row in zip(plan.versions, versions, strict=True)}
    deployments = Deployment.objects.bulk_create(
        Deployment(
            model_version=version_row[id(d.version)],
            endpoint=endpoints[d.version.model.endpoint],
            role=d.role,
            traffic_share=Decimal(f"{d.share:.4f}"),
            started_at=d.start,
            ended_at=d.end,
        )
        for d in plan.deployments
    )
    progress(
        f"catalog: {len(industries)} industries, {len(teams)} teams, {len(models)} models "
        f"with {len(versions)} versions, {len(deployments)} deployments on "
        f"{len(endpoints)} endpoints, {len(DATASETS)} datasets"
    )
    return _Rows(models, endpoints, deployments)


def _incidents_write(plan: _Plan, rows: _Rows) -> None:
    by_name = {m.name: m for m in MODELS}
    Incident.objects.bulk_create(
        Incident(
            model=rows.models[i.spec.model],
            endpoint=rows.endpoints[by_name[i.spec.model].endpoint],
            failure_class=i.spec.failure_class,
            title=i.title,
            description=i.description,
            started_at=i.start,
            ended_at=i.end,
        )
        for i in plan.incidents
    )


def _users_write() -> tuple[tuple[str, str], ...]:
    labels = [role.label for role in Role]
    if Group.objects.filter(name__in=labels).count() < len(labels):
        role_groups_ensure()
    password = make_password(DEMO_PASSWORD)  # hashed once: hashing is slow on purpose
    made = []
    for username, role in DEMO_USERS:
        email = f"{username}@{DEMO_EMAIL_DOMAIN}"
        existing = User.objects.filter(username=username).first()
        if existing is not None and existing.email != email:
            raise DemoSeedError(
                f"A user named {username!r} exists and is not a demo user; the demo will not "
                f"take it over. Rename that user or seed another database."
            )
        user = existing or User(username=username, email=email)
        user.first_name, user.last_name = "Demo", role.label
        user.password = password
        user.is_staff = role in (Role.ADMIN, Role.MLOPS)
        user.is_superuser = role == Role.ADMIN
        user.save()
        user.groups.set([Group.objects.get(name=role.label)])
        made.append((username, "superuser" if user.is_superuser else role.label))
    return tuple(made)


# --- simulating traffic --------------------------------------------------------------------


def _us(t: datetime) -> int:
    return (t - _EPOCH) // timedelta(microseconds=1)


@dataclass
class _Traffic:
    """One endpoint's requests as parallel arrays; `dep` indexes plan.deployments."""

    ts: np.ndarray  # event time, microseconds since the epoch
    dep: np.ndarray
    load: np.ndarray  # how busy the endpoint was that hour, 0..1
    error: np.ndarray  # 0 for ok, else a failure class code (see _code)
    forced: np.ndarray  # True for the extra failed calls an incident brings
    caller: np.ndarray | None = None
    latency: np.ndarray | None = None  # nan where nothing answered
    cost: np.ndarray | None = None  # nan where the model's unit cost applies
    features: list | None = None
    prediction: list | None = None

    def take(self, keep: np.ndarray) -> _Traffic:
        def pick(values):
            if values is None or isinstance(values, np.ndarray):
                return None if values is None else values[keep]
            return [values[i] for i in np.arange(len(self.ts))[keep]]

        return _Traffic(*(pick(getattr(self, f)) for f in self.__dataclass_fields__))

    @staticmethod
    def join(parts: list[_Traffic]) -> _Traffic:
        def glue(name):
            values = [getattr(p, name) for p in parts]
            if values[0] is None:
                return None
            if isinstance(values[0], np.ndarray):
                return np.concatenate(values)
            return [x for v in values for x in v]

        return _Traffic(*(glue(f) for f in _Traffic.__dataclass_fields__))


def _hourly_load(spec: EndpointSpec, hours: np.ndarray) -> np.ndarray:
    """Relative load per hour, averaging 1 over a week: streaming traffic follows the
    working day and the week, a batch job runs in a nightly burst."""
    hour = (hours // _HOUR) % 24
    weekday = (hours // _DAY + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    weekly = np.where(weekday >= 5, spec.weekend, 1.0) * 7 / (5 + 2 * spec.weekend)
    if spec.mode == BATCH:
        in_burst = (hour - spec.peak_hour) % 24 < spec.spread_hours
        return np.where(in_burst, 24 / spec.spread_hours, 0.0) * weekly

    def shape(h):
        distance = np.minimum(abs(h - spec.peak_hour), 24 - abs(h - spec.peak_hour))
        return 0.15 + np.exp(-0.5 * (distance / spec.spread_hours) ** 2)

    return shape(hour) / shape(np.arange(24)).mean() * weekly


def _assign(ts: np.ndarray, candidates: list[int], plan: _Plan, u: np.ndarray) -> np.ndarray:
    """Which deployment served each request: one of those live at its time, by traffic
    share (-1 where none was live)."""
    deps = plan.deployments
    start, end = _us(plan.start), _us(plan.now)
    cuts = {start, end}
    for i in candidates:
        for t in (deps[i].start, deps[i].end or plan.now):
            cuts.add(min(max(_us(t), start), end))
    edges = np.array(sorted(cuts), dtype=np.int64)
    interval = np.searchsorted(edges, ts, side="right") - 1
    chosen = np.full(len(ts), -1, dtype=np.int64)
    for k in range(len(edges) - 1):
        at = _EPOCH + timedelta(microseconds=int(edges[k]))
        live = [i for i in candidates if deps[i].active_at(at) and deps[i].share > 0]
        if not live:
            continue
        cum = np.cumsum([deps[i].share for i in live])
        here = interval == k
        pick = np.searchsorted(cum / cum[-1], u[here], side="right").clip(max=len(live) - 1)
        chosen[here] = np.array(live)[pick]
    return chosen


def _traffic_simulate(spec: EndpointSpec, plan: _Plan, *, volume: float) -> _Traffic:
    rng = np.random.default_rng([plan.seed, zlib.crc32(spec.name.encode())])
    start, end = _us(plan.start), _us(plan.now)
    deps = plan.deployments
    here = [i for i, d in enumerate(deps) if d.version.model.endpoint == spec.name]
    live = [i for i in here if deps[i].role != SHADOW]

    hours = np.arange(start, end, _HOUR, dtype=np.int64)
    load = _hourly_load(spec, hours)
    day = (hours - start) // _DAY
    noise = rng.gamma(30, 1 / 30, day.max() + 1)[day]
    trend = 1 + 0.08 * (hours - start) / (end - start)  # the business grows a little
    counts = rng.poisson(spec.daily_volume / 24 * volume * load * noise * trend)
    ts = np.repeat(hours, counts) + rng.integers(0, _HOUR, counts.sum())
    relative = np.repeat(load / load.max(), counts)
    n = len(ts)
    traffic = _Traffic(
        ts,
        _assign(ts, live, plan, rng.random(n)),
        relative,
        np.zeros(n, np.int8),
        np.zeros(n, bool),
    )
    traffic = traffic.take((traffic.ts < end) & (traffic.dep >= 0))

    # Failing calls are retried, so an incident also brings extra failed requests.
    parts = [traffic]
    for incident in plan.incidents:
        if _model(incident.spec.model).endpoint != spec.name:
            continue
        begin, finish = _us(incident.start), _us(incident.end)
        own = [i for i in live if deps[i].version.model.name == incident.spec.model]
        hit = np.isin(traffic.dep, own) & (traffic.ts >= begin) & (traffic.ts < finish)
        expected = incident.spec.error_share * hit.sum()
        extra = rng.poisson(incident.spec.retries * expected) + max(0, _MIN_BURST - int(expected))
        extra_ts = rng.integers(begin, finish, extra)
        code = _code(incident.spec.failure_class)
        parts.append(
            _Traffic(
                extra_ts,
                _assign(extra_ts, own, plan, rng.random(extra)),
                np.ones(extra),
                np.full(extra, code, np.int8),
                np.ones(extra, bool),
            )
        )
    traffic = _Traffic.join(parts)
    traffic = traffic.take(traffic.dep >= 0)
    traffic = traffic.take(np.argsort(traffic.ts, kind="stable"))
    _outcomes_draw(traffic, spec, plan, rng)
    shadows = [i for i in here if deps[i].role == SHADOW]
    return _Traffic.join([traffic, *(_shadow_copy(traffic, s, plan, rng) for s in shadows)])


def _model(name: str) -> ModelSpec:
    return next(m for m in MODELS if m.name == name)


def _outcomes_draw(
    traffic: _Traffic, spec: EndpointSpec, plan: _Plan, rng: np.random.Generator
) -> None:
    """Callers, latencies, errors (background and incidents), costs and inputs."""
    deps, n = plan.deployments, len(traffic.ts)
    model_of = np.array([deps[i].version.model.name for i in traffic.dep], dtype=object)
    traffic.caller = np.empty(n, dtype=object)
    traffic.cost = np.full(n, np.nan)
    latency = np.empty(n)
    background = rng.random(n)
    for model in (m for m in MODELS if m.endpoint == spec.name):
        mine = model_of == model.name
        k = int(mine.sum())
        numbers = plan.numbers[model.name]
        weights = 1 / np.arange(1, len(model.callers) + 1) ** 1.3  # a main app and a tail
        callers = np.array(model.callers, dtype=object)
        traffic.caller[mine] = callers[rng.choice(len(callers), k, p=weights / weights.sum())]
        factor = np.array([deps[i].version.latency_factor for i in traffic.dep[mine]])
        busy = 1 + 0.15 * traffic.load[mine] if model.mode == STREAMING else 1.0
        spread = rng.lognormal(0, numbers.latency_sigma, k)
        latency[mine] = numbers.latency_median_ms * factor * busy * spread
        if model.variable_cost:
            # Longer answers cost more tokens, and take longer.
            traffic.cost[mine] = float(model.unit_cost_usd) * spread**1.5
        failed = mine & (background < numbers.error_rate) & (traffic.error == 0)
        mix = [_code(c) for c in _BASELINE_MIX]
        traffic.error[failed] = rng.choice(mix, failed.sum(), p=list(_BASELINE_MIX.values()))

    for incident in plan.incidents:
        inc = incident.spec
        if _model(inc.model).endpoint != spec.name:
            continue
        code = _code(inc.failure_class)
        if inc.caller:
            traffic.caller[traffic.forced & (traffic.error == code)] = inc.caller
        hit = (model_of == inc.model) & (traffic.ts >= _us(incident.start))
        hit &= traffic.ts < _us(incident.end)
        if inc.caller:
            hit &= traffic.caller == inc.caller
        latency[hit] *= inc.slowdown
        fails = hit & ~traffic.forced & (rng.random(n) < inc.error_share)
        traffic.error[fails] = code

    timeout = np.array([plan.numbers[name].timeout_ms for name in model_of])
    is_ = {c: traffic.error == _code(c) for c in _CLASSES}
    latency[is_["bad_request"]] = rng.uniform(1, 6, is_["bad_request"].sum())  # rejected fast
    latency[is_["deployment"]] = rng.uniform(2, 15, is_["deployment"].sum())
    latency[is_["timeout"]] = timeout[is_["timeout"]]
    slow = is_["dependency"]  # waited on the dependency, then gave up
    latency[slow] = np.minimum(latency[slow] * 3, timeout[slow])
    latency[is_["downtime"]] = np.nan  # nothing answered
    traffic.latency = np.round(np.minimum(latency, timeout), 2)
    traffic.features, traffic.prediction = _inputs_draw(traffic, plan, rng, model_of)


def _shadow_copy(traffic: _Traffic, s: int, plan: _Plan, rng: np.random.Generator) -> _Traffic:
    """A shadow sees a copy of each request its model's live versions serve (mirrored
    after request validation, so not the bad requests), and answers it a moment later."""
    shadow = plan.deployments[s]
    model = shadow.version.model
    end = _us(shadow.end or plan.now)
    copy = (
        np.array([plan.deployments[i].version.model is model for i in traffic.dep], bool)
        & (traffic.ts >= _us(shadow.start))
        & (traffic.ts < end)
        & (traffic.error != _code("bad_request"))
    )
    mirror = traffic.take(copy)
    n = len(mirror.ts)
    numbers = plan.numbers[model.name]
    latency = numbers.latency_median_ms * shadow.version.latency_factor
    latency = latency * (1 + 0.15 * mirror.load) * rng.lognormal(0, numbers.latency_sigma, n)
    error = np.where(rng.random(n) < numbers.error_rate, _code("other"), 0).astype(np.int8)
    mirror.ts = np.minimum(mirror.ts + rng.integers(1_000, 50_000, n), end - 1_000)
    mirror.dep = np.full(n, s)
    mirror.error, mirror.forced = error, np.zeros(n, bool)
    mirror.latency = np.round(np.where(error > 0, np.nan, latency), 2)
    if mirror.prediction is not None:
        mirror.prediction = [
            None if e else _perturb(p, rng) for p, e in zip(mirror.prediction, error, strict=True)
        ]
    return mirror


def _perturb(value: object, rng: np.random.Generator) -> object:
    """The challenger's answer: close to the champion's, not identical."""
    if isinstance(value, float):
        return round(min(1.0, max(0.0, value + rng.normal(0, 0.04))), 4)
    return value


# --- inputs: stable for two models, drifting for one ---------------------------------------


def _categorical(rng: np.random.Generator, names: list[str], probs: np.ndarray) -> list[str]:
    """One draw per row of `probs` (rows differ when a mix drifts)."""
    pick = (rng.random((len(probs), 1)) > np.cumsum(probs, axis=1)).sum(axis=1)
    return [names[k] for k in pick.clip(max=len(names) - 1)]


def _credit_inputs(rng: np.random.Generator, drift: np.ndarray) -> tuple[list, list]:
    # A partner channel launched in the last third of the window brings younger,
    # lower-income, more indebted applicants: every input drifts, gradually.
    n = len(drift)
    income = rng.lognormal(np.log(52) + np.log(1 - 0.3 * drift), 0.45)
    dti = np.clip(rng.beta(2, 5, n) + 0.12 * drift, 0, 1.5)
    utilisation = rng.beta(2 + 1.5 * drift, 3)
    age = np.clip(rng.normal(41 - 9 * drift, 11), 18, 85).round()
    kinds = ["employed", "self_employed", "contractor", "retired", "student"]
    before = np.array([0.62, 0.14, 0.08, 0.10, 0.06])
    after = np.array([0.40, 0.22, 0.20, 0.04, 0.14])
    employment = _categorical(rng, kinds, before + drift[:, None] * (after - before))
    risk = -3.0 + 2.5 * dti + 1.8 * utilisation - 0.012 * (income - 50) - 0.02 * (age - 40)
    rows = [
        {
            "income_k": round(float(income[i]), 1),
            "debt_to_income": round(float(dti[i]), 3),
            "credit_utilisation": round(float(utilisation[i]), 3),
            "applicant_age": int(age[i]),
            "employment_type": employment[i],
        }
        for i in range(n)
    ]
    return rows, [round(float(p), 4) for p in 1 / (1 + np.exp(-risk))]


def _login_inputs(rng: np.random.Generator, n: int) -> tuple[list, list]:
    failed = rng.poisson(0.4, n)
    ip_risk = rng.beta(1.5, 8, n)
    session = rng.lognormal(np.log(40), 1.0, n)
    channel = _categorical(rng, ["web", "ios", "android"], np.tile([0.5, 0.3, 0.2], (n, 1)))
    score = 1 / (1 + np.exp(-(-4 + 0.8 * failed + 5 * ip_risk)))
    rows = [
        {
            "failed_logins_24h": int(failed[i]),
            "ip_risk_score": round(float(ip_risk[i]), 3),
            "session_age_s": round(float(session[i]), 1),
            "channel": channel[i],
        }
        for i in range(n)
    ]
    return rows, [round(float(s), 4) for s in score]


def _send_time_inputs(rng: np.random.Generator, n: int) -> tuple[list, list]:
    open_rate = rng.beta(2, 7, n)
    since = rng.geometric(0.15, n)
    offset = rng.choice([-5, -4, 0, 1, 2], n, p=[0.15, 0.1, 0.3, 0.35, 0.1])
    segments = ["new", "active", "lapsing", "dormant"]
    segment = _categorical(rng, segments, np.tile([0.15, 0.5, 0.2, 0.15], (n, 1)))
    best_hour = (rng.normal(18, 2.5, n) - offset).round() % 24
    rows = [
        {
            "open_rate_30d": round(float(open_rate[i]), 3),
            "days_since_last_open": int(since[i]),
            "utc_offset_h": int(offset[i]),
            "segment": segment[i],
        }
        for i in range(n)
    ]
    return rows, [int(h) for h in best_hour]


def _inputs_draw(
    traffic: _Traffic, plan: _Plan, rng: np.random.Generator, model_of: np.ndarray
) -> tuple[list | None, list | None]:
    """Features and predictions for the three models that log them; other events leave
    them null to keep the database small."""
    models = [m for m in MODELS if m.features and np.any(model_of == m.name)]
    if not models:
        return None, None
    features: list = [None] * len(traffic.ts)
    prediction: list = [None] * len(traffic.ts)
    for model in models:
        idx = np.flatnonzero(model_of == model.name)
        if model.features == "drifting":
            begin, end = _us(plan.drift_start), _us(plan.now)
            rows, answers = _credit_inputs(
                rng, np.clip((traffic.ts[idx] - begin) / (end - begin), 0, 1)
            )
        elif model.features == "login":
            rows, answers = _login_inputs(rng, len(idx))
        else:
            rows, answers = _send_time_inputs(rng, len(idx))
        for k, i in enumerate(idx):
            features[i] = rows[k]
            prediction[i] = None if traffic.error[i] else answers[k]  # failures answer nothing
    return features, prediction


def _events_write(
    plan: _Plan, rows: _Rows, *, volume: float, progress: Callable[[str], None]
) -> tuple[int, int]:
    total = errors = 0
    ids = np.random.default_rng([plan.seed, 0])
    now = _us(plan.now)
    for spec in ENDPOINTS:
        traffic = _traffic_simulate(spec, plan, volume=volume)
        n = len(traffic.ts)
        rng = np.random.default_rng([plan.seed, zlib.crc32(spec.name.encode()), 1])
        # Batch results reach kpiboard as files after the job; streaming logs in seconds.
        delay = rng.uniform(300, 1200, n) if spec.mode == BATCH else rng.lognormal(0, 0.8, n)
        received = np.minimum(traffic.ts + (delay * _US).astype(np.int64), now)
        raw = ids.bytes(16 * n)
        endpoint = rows.endpoints[spec.name]
        batch: list[ServingEvent] = []
        for k in range(n):
            deployment = rows.deployments[traffic.dep[k]]
            code = int(traffic.error[k])
            latency, cost = float(traffic.latency[k]), float(traffic.cost[k])
            batch.append(
                ServingEvent(
                    event_id=str(uuid.UUID(bytes=raw[16 * k : 16 * k + 16], version=4)),
                    timestamp=_EPOCH + timedelta(microseconds=int(traffic.ts[k]) // 1000 * 1000),
                    received_at=_EPOCH + timedelta(microseconds=int(received[k])),
                    model_id=deployment.model_version.model_id,
                    model_version_id=deployment.model_version_id,
                    endpoint=endpoint,
                    status=EventStatus.ERROR if code else EventStatus.OK,
                    error_type=_CLASSES[code - 1] if code else "",
                    latency_ms=None if math.isnan(latency) else latency,
                    caller=traffic.caller[k],
                    features=traffic.features[k] if traffic.features else None,
                    prediction=traffic.prediction[k] if traffic.prediction else None,
                    cost_usd=None if math.isnan(cost) else Decimal(f"{cost:.8f}"),
                )
            )
            if len(batch) == _BATCH_SIZE:
                ServingEvent.objects.bulk_create(batch, batch_size=_BATCH_SIZE)
                batch = []
        ServingEvent.objects.bulk_create(batch, batch_size=_BATCH_SIZE)
        total += n
        errors += int((traffic.error > 0).sum())
        progress(f"events: {spec.name}: {n:,} (total {total:,})")
    return total, errors
