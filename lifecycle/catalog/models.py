"""The shared nouns every lifecycle phase hangs off, and the serving events that several
phases read (monitoring, deployment and business value).

Names are the public identifiers (the API looks things up by name), so they may hold
anything but a slash and surrounding blanks.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q

name_validator = RegexValidator(
    regex=r"^[^/\s](?:[^/]*[^/\s])?$",
    message="Names may not contain '/' and may not start or end with a blank.",
)


def _name_field(**kwargs) -> models.CharField:
    return models.CharField(max_length=200, unique=True, validators=[name_validator], **kwargs)


def pushed_by_field(*, indexed: bool) -> models.ForeignKey:
    """The API token that pushed a row; null for a session's push and in-process sources
    (log files, the registry sync). Tables that grow with traffic go without the index:
    every index costs ingestion time, and tokens are revoked rather than deleted, so the
    rare delete may scan for the rows it unlinks."""
    return models.ForeignKey(
        "catalog.ApiToken",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=indexed,
    )


# The badge's tooltip on every page and the API field's description: one wording.
SEEN_IN_SERVING_HELP = (
    "Seen in serving, not in the registry: serving events named it before any registry "
    "did, so kpiboard registered it on the fly. It stays flagged until the registry sync "
    "or a registry event brings it."
)


def seen_in_serving_field(noun: str) -> models.DateTimeField:
    """When serving events first named a version or endpoint the catalog did not have
    (the earliest such event's time); null for one a registry or a person registered,
    and cleared when a registry brings it (ingestion/registry/ledger.py)."""
    return models.DateTimeField(
        null=True,
        blank=True,
        help_text=f"When serving traffic first named this {noun} while no registry knew it; "
        "empty once a registry brings it.",
    )


class ServingMode(models.TextChoices):
    BATCH = "batch", "Batch"
    STREAMING = "streaming", "Streaming"


class DeploymentRole(models.TextChoices):
    PRODUCTION = "production", "Production"
    SHADOW = "shadow", "Shadow"
    CANARY = "canary", "Canary"


class DataSource(models.TextChoices):
    FIRST_PARTY = "first_party", "First-party"
    THIRD_PARTY = "third_party", "Third-party"


class Industry(models.Model):
    name = _name_field()
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "industries"

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    """A team, and the business unit it belongs to (the unit chargeback is billed to)."""

    name = _name_field()
    business_unit = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RegisteredModel(models.Model):
    name = _name_field()
    description = models.TextField(blank=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="models")
    industry = models.ForeignKey(Industry, on_delete=models.PROTECT, related_name="models")
    serving_mode = models.CharField(max_length=16, choices=ServingMode.choices)
    unit_cost_usd = models.DecimalField(
        max_digits=14,
        decimal_places=8,
        default=0,
        validators=[MinValueValidator(0)],
        help_text="Cost of one prediction, used when an event carries no cost of its own.",
    )
    sla_latency_p95_ms = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Target p95 latency in milliseconds.",
    )
    sla_error_rate = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="Highest acceptable error rate, as a fraction (0.01 = 1%).",
    )
    sla_uptime = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="Target uptime, as a fraction (0.999 = 99.9%).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the model was retired. A model with serving history is archived, "
        "never deleted, so every number it served stays.",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "model"

    def __str__(self) -> str:
        return self.name


class Dataset(models.Model):
    name = _name_field()
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="datasets")
    description = models.TextField(blank=True)
    source = models.CharField(
        max_length=16, choices=DataSource.choices, default=DataSource.FIRST_PARTY
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DatasetVersion(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(max_length=100, validators=[name_validator])
    created_at = models.DateTimeField()
    # The API token that uploaded it (null for a session or the demo seeder).
    pushed_by = pushed_by_field(indexed=True)

    class Meta:
        ordering = ["dataset", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "version"], name="uniq_dataset_version")
        ]

    def __str__(self) -> str:
        return f"{self.dataset.name}@{self.version}"


class ModelVersion(models.Model):
    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(max_length=100, validators=[name_validator])
    registered_at = models.DateTimeField(help_text="When the version entered the registry.")
    run_id = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    datasets = models.ManyToManyField(
        DatasetVersion,
        blank=True,
        related_name="model_versions",
        help_text="Dataset versions this model version was trained on.",
    )

    seen_in_serving_at = seen_in_serving_field("version")

    class Meta:
        ordering = ["model", "registered_at"]
        constraints = [
            models.UniqueConstraint(fields=["model", "version"], name="uniq_model_version")
        ]

    def __str__(self) -> str:
        return f"{self.model.name} v{self.version}"

    @property
    def seen_in_serving_only(self) -> bool:
        return self.seen_in_serving_at is not None


class Endpoint(models.Model):
    """A serving endpoint; several models may share one (multi-model endpoints)."""

    name = _name_field()
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="endpoints", null=True, blank=True
    )
    url = models.URLField(blank=True)
    description = models.TextField(blank=True)
    seen_in_serving_at = seen_in_serving_field("endpoint")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def seen_in_serving_only(self) -> bool:
        return self.seen_in_serving_at is not None


class DeploymentQuerySet(models.QuerySet):
    def active_between(self, start: datetime, end: datetime) -> DeploymentQuerySet:
        """Deployments that served at any moment of [start, end)."""
        return self.filter(started_at__lt=end).filter(
            Q(ended_at__isnull=True) | Q(ended_at__gt=start)
        )


class Deployment(models.Model):
    """A model version on an endpoint, in a role, with a share of the endpoint's traffic."""

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="deployments"
    )
    endpoint = models.ForeignKey(Endpoint, on_delete=models.PROTECT, related_name="deployments")
    role = models.CharField(max_length=16, choices=DeploymentRole.choices)
    traffic_share = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="Share of the endpoint's traffic, 0 to 1 (shadows see copies: 0).",
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = DeploymentQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(traffic_share__gte=0) & Q(traffic_share__lte=1),
                name="deployment_traffic_share_0_1",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gt=models.F("started_at")),
                name="deployment_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model_version} on {self.endpoint.name} ({self.role})"

    @classmethod
    def shadow_of_outer_event(cls) -> Exists:
        """Whether the serving event an outer query is on is a shadow copy: a shadow
        deployment of its version on its endpoint was running at its time. A copy of a
        production request is not a request of its own, so the rollups keep copies
        apart (their `shadow` column) and the read model counts them apart."""
        event_time = OuterRef("timestamp")
        return Exists(
            cls.objects.filter(
                role=DeploymentRole.SHADOW,
                model_version_id=OuterRef("model_version_id"),
                endpoint_id=OuterRef("endpoint_id"),
                started_at__lte=event_time,
            ).filter(Q(ended_at__isnull=True) | Q(ended_at__gt=event_time))
        )


class EventStatus(models.TextChoices):
    OK = "ok", "OK"
    ERROR = "error", "Error"


class FailureClass(models.TextChoices):
    DEPENDENCY = "dependency", "Dependency"
    DEPLOYMENT = "deployment", "Deployment"
    HARDWARE = "hardware", "Hardware"
    DOWNTIME = "downtime", "Downtime / crash"
    TIMEOUT = "timeout", "Timeout"
    BAD_REQUEST = "bad_request", "Bad request"
    OTHER = "other", "Other"


# Whose fault a failure is: a bad request is the caller's (a 4xx); every other class,
# "other" included (the model raised, unclassified), is the serving system's (a 5xx).
# A minute with a system-class error is a minute down (see `uptime` in docs/kpis.md).
CALLER_FAILURE_CLASSES = frozenset({FailureClass.BAD_REQUEST})
SYSTEM_FAILURE_CLASSES = frozenset(FailureClass.values) - CALLER_FAILURE_CLASSES


class ServingEvent(models.Model):
    """One inference, as pushed, logged or captured. `event_id` makes repeats harmless
    within a team: each team names its events as it likes, so two teams may use one id."""

    event_id = models.CharField(max_length=200)
    timestamp = models.DateTimeField(help_text="When the inference happened (event time).")
    received_at = models.DateTimeField(help_text="When kpiboard stored it.")
    # The model is reachable through the version, but every panel filters by it, so it is
    # kept on the row to spare a join over millions of events.
    # Neither foreign key gets an index of its own: the composite indexes below start
    # with it, and every index costs ingestion time.
    model = models.ForeignKey(
        RegisteredModel, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="serving_events", db_index=False
    )
    # The team that owned the model when the event came in, kept when the model moves:
    # the namespace of its event_id and of the labels that join it. Indexed only by the
    # unique constraint, which starts with event_id because every lookup names the id.
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+", db_index=False)
    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=8, choices=EventStatus.choices)
    error_type = models.CharField(
        max_length=16, choices=FailureClass.choices, blank=True, default=""
    )
    latency_ms = models.FloatField(null=True, blank=True)
    caller = models.CharField(max_length=200, blank=True, default="")
    features = models.JSONField(null=True, blank=True)
    prediction = models.JSONField(null=True, blank=True)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=8, null=True, blank=True)
    pushed_by = pushed_by_field(indexed=False)

    class Meta:
        indexes = [
            models.Index(fields=["model", "timestamp"], name="event_model_time"),
            # Rollup refreshes read one version's hours; first production traffic is a
            # version's earliest event.
            models.Index(fields=["model_version", "timestamp"], name="event_version_time"),
            # A deployment reads one version on one endpoint: the newest events of each
            # side of a comparison, the earliest outside a shadow window.
            models.Index(
                fields=["model_version", "endpoint", "timestamp"],
                name="event_version_endpoint_time",
            ),
            models.Index(fields=["timestamp"], name="event_time"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["event_id", "team"], name="event_id_per_team"),
            models.CheckConstraint(
                condition=Q(status="ok", error_type="") | Q(status="error") & ~Q(error_type=""),
                name="event_error_type_iff_error",
            ),
            models.CheckConstraint(
                condition=Q(latency_ms__isnull=True) | Q(latency_ms__gte=0),
                name="event_latency_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.event_id


class LifecyclePhase(models.TextChoices):
    DATAPREP = "dataprep", "Data preparation"
    DEVELOPMENT = "development", "Model development"
    DEPLOYMENT = "deployment", "Deployment"
    MONITORING = "monitoring", "Monitoring"
    VALUE = "value", "Business value"


class LifecycleMetric(models.Model):
    """Any other number about a model in one phase: business value, infrastructure cost,
    training metrics (phase "development", dimensions {"run_id": ...}) and the like.

    `metric_id` makes a retried push harmless: the client may send its own; when it does
    not, it is the SHA-256 of model, version, phase, name, timestamp and the canonical JSON
    of the dimensions (see `lifecycle_metric_key`). A repeat is ignored, not updated, so a
    corrected value needs a new timestamp, other dimensions or its own metric_id.

    A metric_id is unique per model: every metric names its model and nothing joins on
    the id, so another model's id (another team's, above all) never hides a metric, and a
    retry after the model moved to another team is still the repeat it is.
    """

    metric_id = models.CharField(max_length=200)
    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="metrics")
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, null=True, blank=True, related_name="metrics"
    )
    phase = models.CharField(max_length=16, choices=LifecyclePhase.choices)
    name = models.CharField(max_length=200)
    value = models.FloatField()
    timestamp = models.DateTimeField(help_text="When the value was true (event time).")
    dimensions = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(help_text="When kpiboard stored it.")
    pushed_by = pushed_by_field(indexed=False)

    class Meta:
        ordering = ["timestamp"]
        indexes = [
            models.Index(fields=["model", "phase", "name", "timestamp"], name="metric_lookup"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["metric_id", "model"], name="metric_id_per_model"),
        ]

    def __str__(self) -> str:
        return f"{self.model_id}/{self.phase}/{self.name}={self.value}"


def lifecycle_metric_key(
    *,
    model: str,
    version: str | None,
    phase: str,
    name: str,
    timestamp: datetime,
    dimensions: dict,
) -> str:
    """The metric_id of a metric pushed without one: equal inputs give equal keys."""
    canonical = json.dumps(
        [model, version or "", phase, name, timestamp.isoformat(), dimensions],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


class Label(models.Model):
    """Ground truth for one serving event, joined by (`event_id`, `team`) rather than a
    foreign key so that a label arriving before its event is kept and joins when the
    event lands; never across teams (see `ingestion.labels` for how its team is chosen)."""

    event_id = models.CharField(max_length=200)
    # Null only for labels stored before labels had a team whose event had not arrived:
    # nothing says whose they were, so they join no event.
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, related_name="+", db_index=False
    )
    label = models.JSONField()
    timestamp = models.DateTimeField(help_text="When the truth became known.")
    received_at = models.DateTimeField(help_text="When kpiboard stored it.")
    pushed_by = pushed_by_field(indexed=False)

    class Meta:
        ordering = ["timestamp"]
        constraints = [
            models.UniqueConstraint(fields=["event_id", "team"], name="label_event_id_per_team"),
        ]

    def __str__(self) -> str:
        return f"label of {self.event_id}"

    @classmethod
    def of_outer_event(cls) -> models.QuerySet[Label]:
        """The label of the serving event an outer query is on, by this class's join (its
        event_id, its team), for `Exists(...)` and `Subquery(...)` over serving events."""
        return cls.objects.filter(
            event_id=models.OuterRef("event_id"), team_id=models.OuterRef("team_id")
        )


class RollupGranularity(models.TextChoices):
    MINUTE = "minute", "Minute"
    # Latency rollups only (callers merged), kept for KPIBOARD_FIVE_MINUTE_ROLLUP_DAYS:
    # a day's charts in 5-minute buckets.
    FIVE_MINUTES = "5min", "5 minutes"
    HOUR = "hour", "Hour"
    DAY = "day", "Day"
    WEEK = "week", "Week (from Monday, UTC)"


# The columns a KPI request filters and sums rollups by (see the covering indexes).
ROLLUP_KEYS = ("model", "model_version", "endpoint", "shadow")
ROLLUP_COUNTS = (
    "inferences",
    "errors",
    *(f"errors_{c}" for c in FailureClass.values),
    "cost_usd",
)


class RollupCounts(models.Model):
    """What every rollup row counts, over one time bucket, version and endpoint, shadow
    copies apart: its events, failed events in all and per failure class, and their
    cost."""

    granularity = models.CharField(max_length=8, choices=RollupGranularity.choices)
    bucket_start = models.DateTimeField()
    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="+")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # A database default too: rows are written with raw SQL (ingestion.rollups).
    shadow = models.BooleanField(
        default=False,
        db_default=False,
        help_text="The row counts shadow copies (Deployment.shadow_of_outer_event), which "
        "the serving KPIs leave out and count apart.",
    )
    inferences = models.BigIntegerField(default=0)
    errors = models.BigIntegerField(default=0)
    # One column per failure class, so any filter and window sums them in SQL.
    errors_dependency = models.BigIntegerField(default=0)
    errors_deployment = models.BigIntegerField(default=0)
    errors_hardware = models.BigIntegerField(default=0)
    errors_downtime = models.BigIntegerField(default=0)
    errors_timeout = models.BigIntegerField(default=0)
    errors_bad_request = models.BigIntegerField(default=0)
    errors_other = models.BigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=20, decimal_places=8, default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.granularity} {self.bucket_start:%Y-%m-%d %H:%M} v{self.model_version_id}"


class ServingRollup(RollupCounts):
    """Serving events summed per time bucket, model version, endpoint and caller.

    Derived data: recomputed from the raw events of a bucket (never incremented), so a
    rollup task can run twice or be killed half-way without changing any count.
    """

    caller = models.CharField(max_length=200, blank=True, default="")
    latency_count = models.BigIntegerField(help_text="Successful events with a latency.")
    latency_sum_ms = models.FloatField()
    prediction_count = models.BigIntegerField(help_text="Events with a numeric prediction.")
    prediction_sum = models.FloatField()
    prediction_sum_squares = models.FloatField()
    prediction_min = models.FloatField(null=True)
    prediction_max = models.FloatField(null=True)

    class Meta:
        indexes = [
            # Covering (on PostgreSQL): a window's sums are read from the index alone,
            # whichever pages the rows landed on.
            models.Index(
                fields=["granularity", "bucket_start"],
                include=[*ROLLUP_KEYS, "caller", *ROLLUP_COUNTS],
                name="rollup_time_covering",
            ),
            models.Index(fields=["granularity", "model", "bucket_start"], name="rollup_model_time"),
        ]


class LatencyRollup(RollupCounts):
    """Serving events per time bucket, model version and endpoint, callers merged: the
    latency histogram of the successful ones, and the counts and cost of all of them.

    No filter narrows by caller, so every number that is not broken down by caller is
    read from here: about a fifth of the rows of `ServingRollup` (a 7-day chart by hour
    reads 6,720 rows here for a portfolio of 40 versions instead of 33,600 there).
    There is a row for every bucket, version and endpoint with events, with an empty
    histogram when none of them succeeded.

    `histogram` is the log-bucketed histogram of `lifecycle.catalog.latency`, in the
    compact encoding described there.
    """

    histogram = models.BinaryField()
    # Uptime's minute facts, in hour and 5-minute rows (0 in day and week rows): bit i is
    # the bucket's i-th minute, set when this version and endpoint served in it (at all /
    # with a system-class error). Rows of one bucket merge with a bitwise OR; buckets add
    # their popcounts. Days and weeks are counted per model in `UptimeRollup`.
    served_minutes = models.BigIntegerField(default=0)
    failed_minutes = models.BigIntegerField(default=0)

    class Meta:
        indexes = [
            # Covering (on PostgreSQL), as ServingRollup's: series and sums without the
            # heap; only the histograms are read from the rows.
            models.Index(
                fields=["granularity", "bucket_start"],
                include=[*ROLLUP_KEYS, *ROLLUP_COUNTS],
                name="latency_rollup_time_covering",
            ),
            models.Index(
                fields=["granularity", "model", "bucket_start"], name="latency_rollup_model_time"
            ),
        ]


class UptimeRollup(models.Model):
    """Per model and day (or week): its minutes with traffic and its minutes with a
    system-class error, over all its versions and endpoints at once (a minute in which
    any of them failed is down once, not once per version). Requests only: the shadow
    rows' bitmaps are left out, as a copy is not a request.

    A day row is summed from the OR of the hour rows' minute bitmaps of every version of
    the model, so it holds only for a scope that takes the whole model; a scope narrowed
    to versions or endpoints reads those hour bitmaps instead."""

    granularity = models.CharField(max_length=8, choices=RollupGranularity.choices)
    bucket_start = models.DateTimeField()
    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="+")
    served_minutes = models.BigIntegerField()
    failed_minutes = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["granularity", "model", "bucket_start"], name="uptime_rollup_once"
            ),
        ]
        indexes = [models.Index(fields=["granularity", "bucket_start"], name="uptime_rollup_time")]

    def __str__(self) -> str:
        return f"{self.granularity} {self.bucket_start:%Y-%m-%d} model {self.model_id}"


class Role(models.TextChoices):
    """The four kinds of user; each is a Django group of the same name."""

    EXECUTIVE = "executive", "Executive"
    MLOPS = "mlops", "MLOps engineer"
    DATA_TEAM = "data_team", "Data team"
    ADMIN = "admin", "Admin"


class ApiTokenQuerySet(models.QuerySet):
    def usable(self, now: datetime) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """An API key that belongs to a team. Only a hash of the key is stored."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=200, blank=True, help_text="What the token is for.")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MLOPS)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.team.name})"


class WorkerHeartbeat(models.Model):
    """The last time each Celery worker ran its periodic heartbeat task."""

    hostname = models.CharField(max_length=255, unique=True)
    pid = models.IntegerField()
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.hostname} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
