from django.contrib import admin

from lifecycle.development.models import TrainingRun


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ["model_version", "run_id", "started_at", "dataset_version"]
    search_fields = ["run_id", "model_version__model__name"]
