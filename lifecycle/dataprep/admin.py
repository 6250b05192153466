from django.contrib import admin

from lifecycle.dataprep.models import DatasetProfile


@admin.register(DatasetProfile)
class DatasetProfileAdmin(admin.ModelAdmin):
    list_display = ["version", "source", "rows", "columns", "completeness_pct", "uploaded_by"]
    list_filter = ["source"]
    search_fields = ["version__dataset__name", "file_name"]
    readonly_fields = ["profile"]
