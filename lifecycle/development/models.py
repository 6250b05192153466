"""Facts of the model development phase: training runs and what went into them.

The run's metrics (accuracy, AUC, MAE ...) are catalog LifecycleMetric rows with phase
"development" and dimensions {"run_id": ...}, from the metrics push or the MLflow sync;
a TrainingRun holds what is not a number per metric: the dataset version used and the
feature and labeling make-up. A run known only from its metrics has no TrainingRun row.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from lifecycle.catalog.models import DatasetVersion, ModelVersion, pushed_by_field

_PCT = [MinValueValidator(0), MaxValueValidator(100)]


class TrainingRun(models.Model):
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="training_runs"
    )
    run_id = models.CharField(max_length=200)
    started_at = models.DateTimeField(null=True, blank=True)
    dataset_version = models.ForeignKey(
        DatasetVersion,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="training_runs",
    )
    features_total = models.PositiveIntegerField(null=True, blank=True)
    features_transformed = models.PositiveIntegerField(
        null=True, blank=True, help_text="Features derived by transforming a raw column."
    )
    features_extracted = models.PositiveIntegerField(
        null=True, blank=True, help_text="Features extracted from unstructured data."
    )
    labeling_human_pct = models.FloatField(null=True, blank=True, validators=_PCT)
    labeling_semi_supervised_pct = models.FloatField(null=True, blank=True, validators=_PCT)
    labeling_third_party_pct = models.FloatField(null=True, blank=True, validators=_PCT)
    # The API token that last recorded the run (null for a session or the demo seeder).
    pushed_by = pushed_by_field(indexed=True)

    class Meta:
        ordering = ["model_version", "started_at"]
        constraints = [
            models.UniqueConstraint(fields=["model_version", "run_id"], name="uniq_training_run")
        ]

    def __str__(self) -> str:
        return f"{self.model_version} run {self.run_id}"
