"""What the demo portfolio holds: industries, teams, datasets, endpoints, models, their
registries and incidents, as plain tables the planner reads."""

from __future__ import annotations

from dataclasses import dataclass

from lifecycle.catalog.models import DataSource, DeploymentRole, FailureClass, ServingMode

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
    registry: str = ""  # polled from this MLflow registry (else pushed by a pipeline)


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
       features="drifting", registry="mlflow-credit"),
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
       "Routes new tickets to the right queue.", registry="mlflow-support"),
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
        FailureClass.DEPLOYMENT, "search-reranker", 0.16, 15, 0, 45, 0.7, 1.0, 0.2,
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


@dataclass(frozen=True)
class RegistrySpec:
    """An MLflow registry kpiboard polls; a serving layer deploys what its aliases point
    at on `endpoint`, so its polls also record the deployments (with poll-interval bounds)."""

    name: str
    team: str
    industry: str
    poll_minutes: int
    endpoint: str


REGISTRIES = (
    RegistrySpec("mlflow-credit", "credit-decisioning", "credit-risk", 15, "credit-scoring-online"),
    RegistrySpec("mlflow-support", "support-automation", "customer-support", 10,
                 "ticket-routing-online"),
)  # fmt: skip

# The other teams' pipelines push registry events; this names the registry they come from.
PIPELINES = {
    "fraud-risk": "sagemaker-payments",
    "recsys": "vertex-ai-shop",
    "search-relevance": "vertex-ai-shop",
    "lifecycle-marketing": "databricks-marketing",
    "credit-decisioning": "azure-ml-lending",
    "support-automation": "wandb-support",
}

# What each model predicts, which decides its training metrics.
BINARY, RANKING, REGRESSION, MULTICLASS, GENERATIVE = (
    "binary", "ranking", "regression", "multiclass", "generative"
)  # fmt: skip
MODEL_TASKS = {
    "card-fraud-scorer": BINARY,
    "account-takeover-detector": BINARY,
    "payment-anomaly-detector": BINARY,
    "merchant-risk-rescoring": MULTICLASS,
    "chargeback-predictor": BINARY,
    "homepage-recommender": RANKING,
    "similar-items": RANKING,
    "basket-completion": RANKING,
    "search-reranker": RANKING,
    "personalised-feed-builder": RANKING,
    "price-elasticity": REGRESSION,
    "send-time-optimiser": REGRESSION,
    "subject-line-ranker": RANKING,
    "churn-propensity": BINARY,
    "credit-application-scorer": BINARY,
    "affordability-check": REGRESSION,
    "credit-limit-optimiser": REGRESSION,
    "pd-model-retail": BINARY,
    "collections-prioritiser": BINARY,
    "ticket-router": MULTICLASS,
    "sentiment-classifier": MULTICLASS,
    "reply-suggester": GENERATIVE,
    "ticket-backlog-forecaster": REGRESSION,
}


@dataclass(frozen=True)
class LabelSpec:
    """Ground truth that arrives for a share of a model's scored events, some days later."""

    coverage: float  # share of scored events that ever get a label
    delay_median_hours: float
    delay_sigma: float  # lognormal spread of the delay
    concept_drift: float  # log-odds the truth moves by at full input drift


LABELLED = {
    # Customers report a taken-over account within a day or two; most never do.
    "account-takeover-detector": LabelSpec(0.7, 36, 0.8, 0.0),
    # Early delinquency shows in the first repayments; the new partner channel's
    # applicants default more than the model expects (concept drift).
    "credit-application-scorer": LabelSpec(0.85, 24 * 6, 0.5, 1.6),
}


def model_spec(name: str) -> ModelSpec:
    return next(m for m in MODELS if m.name == name)


def registry_spec(name: str) -> RegistrySpec:
    return next(r for r in REGISTRIES if r.name == name)
