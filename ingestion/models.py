"""Bookkeeping of the ingestion paths: what still needs rolling up, how far each log file
was read, and KServe requests waiting for their response."""

from __future__ import annotations

from django.db import models

from lifecycle.catalog.models import ModelVersion, Team


class RollupMark(models.Model):
    """An hour of one model version whose rollups are stale.

    Written in the same transaction as the events, so a rollup can never be forgotten:
    if the broker is down or a worker dies, the mark stays until a rollup run commits the
    recomputed buckets and deletes exactly the marks it read (never newer ones).
    """

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    hour_start = models.DateTimeField()
    # Set when recomputing this hour failed: the refresh then leaves the mark alone, so one
    # poison hour cannot stop the others; `rebuild_rollups` over it tries again. Database
    # defaults, because the push path inserts marks with raw SQL.
    failed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, db_default="")

    class Meta:
        indexes = [models.Index(fields=["model_version", "hour_start"], name="mark_lookup")]

    def __str__(self) -> str:
        return f"v{self.model_version_id} {self.hour_start:%Y-%m-%d %H:00}"


class LogFileOffset(models.Model):
    """How far a serving-log file was read: committed with the rows read up to there."""

    path = models.CharField(max_length=1000, unique=True)
    # Bytes of the (decompressed) stream consumed, and the last line number read.
    offset = models.BigIntegerField(default=0)
    line = models.BigIntegerField(default=0)
    accepted = models.BigIntegerField(default=0)
    repeats = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)
    # On-disk size when last read to its end: a gzip file of the same size is not
    # decompressed again to find nothing new.
    source_size = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.path} @ line {self.line}"


class KServeMessageKind(models.TextChoices):
    REQUEST = "request", "Request"
    RESPONSE = "response", "Response"


class KServePending(models.Model):
    """Half of a KServe request/response pair, waiting for the other half (same ce-id,
    same team: a ce-id is the sender's to choose, so two teams may use the same one)."""

    # The team of the model the message is for, not of the token that sent it.
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    ce_id = models.CharField(max_length=200)
    kind = models.CharField(max_length=8, choices=KServeMessageKind.choices)
    inference_service = models.CharField(max_length=200)
    endpoint = models.CharField(max_length=200, blank=True, default="")
    event_time = models.DateTimeField()
    body = models.JSONField()
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "ce_id", "kind"], name="kserve_pending_once_per_team"
            )
        ]
        indexes = [models.Index(fields=["received_at"], name="kserve_pending_age")]

    def __str__(self) -> str:
        return f"{self.kind} {self.ce_id}"
