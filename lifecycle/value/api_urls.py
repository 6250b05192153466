"""The business-value API, mounted under /api/v1/ by kpiboard/urls.py."""

from django.urls import path

from lifecycle.value import api

urlpatterns = [
    path("kpis/value/", api.ValueKpisView.as_view(), name="kpis-value"),
]
