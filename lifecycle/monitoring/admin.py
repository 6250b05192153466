from django.contrib import admin

from lifecycle.monitoring.models import Incident


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["title", "model", "endpoint", "failure_class", "started_at", "ended_at"]
    list_filter = ["failure_class"]
