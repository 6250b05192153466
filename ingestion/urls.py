from django.urls import path

from ingestion import api

api_urlpatterns = [
    path("events/", api.EventsPushView.as_view(), name="events-push"),
    path("labels/", api.LabelsPushView.as_view(), name="labels-push"),
    path("metrics/", api.MetricsPushView.as_view(), name="metrics-push"),
    path("kserve/", api.KServeEventsView.as_view(), name="kserve-events"),
]
