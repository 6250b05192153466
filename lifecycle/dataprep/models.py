"""Facts of the data preparation phase: the profile of each dataset version."""

from __future__ import annotations

from django.db import models

from lifecycle.catalog.models import DatasetVersion


class ProfileSource(models.TextChoices):
    CSV = "csv", "CSV upload"
    PARQUET = "parquet", "Parquet upload"
    JSON = "json", "Profile pushed as JSON"
    WHYLOGS = "whylogs", "whylogs profile"


class DatasetProfile(models.Model):
    """The profile of one dataset version (format: `lifecycle.dataprep.profiles`). The
    few numbers lists sort and filter by are copied out of the JSON into columns."""

    version = models.OneToOneField(
        DatasetVersion, on_delete=models.CASCADE, primary_key=True, related_name="profile"
    )
    source = models.CharField(max_length=16, choices=ProfileSource.choices)
    file_name = models.CharField(max_length=255, blank=True)
    file_bytes = models.BigIntegerField(null=True, blank=True)
    rows = models.BigIntegerField()
    columns = models.IntegerField()
    completeness_pct = models.FloatField(null=True, blank=True)
    newest_record_at = models.DateTimeField(
        null=True, blank=True, help_text="Newest value of the dataset's time column."
    )
    profile = models.JSONField()
    uploaded_by = models.CharField(max_length=200, blank=True)
    raw_file = models.FileField(
        upload_to="datasets/", blank=True, help_text="Kept only when DATASET_KEEP_RAW_FILES is on."
    )

    class Meta:
        ordering = ["-version__created_at"]

    def __str__(self) -> str:
        return f"profile of {self.version}"
