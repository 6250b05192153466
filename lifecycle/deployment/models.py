"""Facts of the deployment phase: the registries kpiboard reads, what it last saw in them,
and the append-only lifecycle ledger of every change it observed or was told about.

MLflow keeps only the current stage and aliases of a version, not their history, so the
ledger is kpiboard's own memory. A polled change is known only to have happened between
two reads: `happened_after` and `happened_before` bound it, and every KPI computed from
the ledger carries that uncertainty. A webhook or a pushed event is exact (both equal).
"""

from __future__ import annotations

from datetime import timedelta

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from lifecycle.catalog.models import (
    Deployment,
    DeploymentRole,
    Endpoint,
    Industry,
    ModelVersion,
    RegisteredModel,
    ServingMode,
    Team,
    name_validator,
    pushed_by_field,
)


class RegistryKind(models.TextChoices):
    MLFLOW = "mlflow", "MLflow"


def default_alias_roles() -> dict[str, str]:
    return {"champion": DeploymentRole.PRODUCTION, "challenger": DeploymentRole.SHADOW}


class Registry(models.Model):
    """A model registry kpiboard polls. Only admins configure one (API and admin)."""

    name = models.CharField(max_length=200, unique=True, validators=[name_validator])
    kind = models.CharField(max_length=16, choices=RegistryKind.choices, default="mlflow")
    base_url = models.URLField(
        max_length=500,
        help_text="Root of the registry's REST API, e.g. https://mlflow.internal:5000. "
        "Its host must be in the operator's KPIBOARD_REGISTRY_ALLOWED_HOSTS.",
    )
    # Credentials are stored to be sent, never shown: the API and admin take them but do
    # not return them, and nothing logs them.
    username = models.CharField(max_length=200, blank=True, help_text="Basic-auth user.")
    secret = models.CharField(
        max_length=1000,
        blank=True,
        help_text="Basic-auth password when a username is set, otherwise a bearer token.",
    )
    webhook_secret = models.CharField(
        max_length=1000,
        blank=True,
        help_text="The secret MLflow signs its webhooks with; webhooks are refused without it.",
    )
    enabled = models.BooleanField(default=True)
    poll_interval_minutes = models.PositiveIntegerField(
        default=15, validators=[MinValueValidator(1), MaxValueValidator(7 * 24 * 60)]
    )
    page_size = models.PositiveIntegerField(
        default=1000,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="Results per page of a search (MLflow allows at most 1,000 models).",
    )
    default_team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Team of a model first seen in the registry without a `kpiboard.team` tag.",
    )
    default_industry = models.ForeignKey(
        Industry,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Industry of a new model without a `kpiboard.industry` tag.",
    )
    default_serving_mode = models.CharField(
        max_length=16, choices=ServingMode.choices, default=ServingMode.STREAMING
    )
    alias_roles = models.JSONField(
        default=default_alias_roles,
        blank=True,
        help_text='Which alias means which role, e.g. {"champion": "production", '
        '"challenger": "shadow"}. An alias with the production role marks a promotion.',
    )
    production_stage = models.CharField(
        max_length=32,
        default="Production",
        blank=True,
        help_text="The (legacy) stage that counts as a promotion; blank for none.",
    )
    deploy_endpoint = models.ForeignKey(
        Endpoint,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Set when a serving layer deploys what the aliases point at (e.g. it "
        "loads models:/name@champion): the sync then records the deployments on this "
        "endpoint. Leave empty when deployments come from the API or registry events.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # Status of the polls, shown on the registry's page.
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_success_started_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last successful poll began reading."
    )
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    last_counts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "registries"

    def __str__(self) -> str:
        return self.name

    def role_of_alias(self, alias: str) -> str:
        return str((self.alias_roles or {}).get(alias, ""))

    def role_of_stage(self, stage: str) -> str:
        if self.production_stage and stage == self.production_stage:
            return DeploymentRole.PRODUCTION
        return ""


class RegistryVersionState(models.Model):
    """What kpiboard last saw of one version in one registry: the poll diffs against it."""

    registry = models.ForeignKey(Registry, on_delete=models.CASCADE, related_name="states")
    model_name = models.CharField(max_length=200)
    version = models.CharField(max_length=100)
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    stage = models.CharField(max_length=32, blank=True)
    aliases = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=32, blank=True)
    run_id = models.CharField(max_length=200, blank=True)
    registry_updated_ms = models.BigIntegerField(null=True, blank=True)
    seen_at = models.DateTimeField(
        help_text="When the read that last confirmed this state was sent (or the exact "
        "time of the webhook that set it): a change seen next happened after it."
    )
    run_ended_at = models.DateTimeField(null=True, blank=True)
    deleted = models.BooleanField(default=False)
    run_synced = models.BooleanField(
        default=False, help_text="The run's metrics have been read into the catalog."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["registry", "model_name", "version"], name="uniq_registry_version_state"
            )
        ]

    def __str__(self) -> str:
        return f"{self.registry.name}:{self.model_name} v{self.version}"


class ChangeKind(models.TextChoices):
    REGISTERED = "registered", "Version registered"
    STAGE_CHANGED = "stage_changed", "Stage changed"
    ALIAS_SET = "alias_set", "Alias set"
    ALIAS_REMOVED = "alias_removed", "Alias removed"
    TAG_SET = "tag_set", "Tag set"
    TAG_REMOVED = "tag_removed", "Tag removed"
    STATUS_CHANGED = "status_changed", "Registration status changed"
    DELETED = "deleted", "Deleted from the registry"
    PROMOTED = "promoted", "Promoted"
    DEPLOYED = "deployed", "Deployed"
    DEPLOYMENT_FAILED = "deployment_failed", "Deployment failed"
    ROLLED_BACK = "rolled_back", "Rolled back"
    UNDEPLOYED = "undeployed", "Undeployed"
    ARCHIVED = "archived", "Archived"


class ChangeSource(models.TextChoices):
    POLL = "poll", "Registry poll"
    WEBHOOK = "webhook", "Registry webhook"
    PUSH = "push", "Registry-events API"


# Kinds that put a version into a role; with role "production" they are promotions.
ROLE_SETTING_KINDS = (ChangeKind.ALIAS_SET, ChangeKind.STAGE_CHANGED, ChangeKind.PROMOTED)
# Kinds that start a deployment.
DEPLOYING_KINDS = (ChangeKind.DEPLOYED, ChangeKind.ROLLED_BACK)


class LifecycleChangeQuerySet(models.QuerySet):
    def current(self) -> LifecycleChangeQuerySet:
        """Entries no later, more exact entry replaces (a webhook beats a poll)."""
        return self.filter(superseded_by__isnull=True)

    def promotions(self) -> LifecycleChangeQuerySet:
        return self.filter(kind__in=ROLE_SETTING_KINDS, role=DeploymentRole.PRODUCTION)


class LifecycleChange(models.Model):
    """One change of a model version's lifecycle, appended and never edited.

    The change happened at some moment of [happened_after, happened_before]; for a poll
    that is between the previous successful read and this one, for a webhook or a pushed
    event both ends are the exact time. A more exact entry for the same change points at
    the entry it replaces through `supersedes`.
    """

    registry = models.ForeignKey(
        Registry, on_delete=models.SET_NULL, null=True, blank=True, related_name="changes"
    )
    source = models.CharField(max_length=16, choices=ChangeSource.choices)
    external_id = models.CharField(
        max_length=200,
        blank=True,
        help_text="event_id of a pushed event, delivery id of a webhook: a repeat is ignored.",
    )
    kind = models.CharField(max_length=32, choices=ChangeKind.choices)
    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="+")
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    key = models.CharField(max_length=200, blank=True, help_text="Alias, stage or tag key.")
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    role = models.CharField(
        max_length=16,
        choices=DeploymentRole.choices,
        blank=True,
        help_text="The deployment role the change gives the version, as configured then.",
    )
    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    deployment = models.ForeignKey(
        Deployment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    happened_after = models.DateTimeField()
    happened_before = models.DateTimeField()
    recorded_at = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)
    # The API token whose pushed registry event made this entry; null for polls, webhooks
    # (signed by the registry's secret, not a token) and sessions.
    pushed_by = pushed_by_field(indexed=True)
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="superseded_by",
    )

    objects = LifecycleChangeQuerySet.as_manager()

    class Meta:
        ordering = ["happened_before", "pk"]
        indexes = [
            models.Index(fields=["model", "happened_before"], name="change_model_time"),
            models.Index(fields=["kind", "happened_before"], name="change_kind_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(happened_after__lte=F("happened_before")),
                name="change_interval_ordered",
            ),
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="uniq_change_external_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.model_version or self.model}"

    @property
    def uncertainty(self) -> timedelta:
        return self.happened_before - self.happened_after

    @property
    def is_exact(self) -> bool:
        return self.happened_after == self.happened_before
