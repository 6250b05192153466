"""Facts of the monitoring phase: what went wrong, and when."""

from __future__ import annotations

from django.db import models

from lifecycle.catalog.models import Endpoint, FailureClass, RegisteredModel


class Incident(models.Model):
    """A period in which a model (or one of its endpoints) failed in one failure class."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="incidents")
    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.SET_NULL, null=True, blank=True, related_name="incidents"
    )
    failure_class = models.CharField(max_length=16, choices=FailureClass.choices)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return self.title
