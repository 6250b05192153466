from django.urls import path

from ingestion.registry import api

urlpatterns = [
    path("registry-events/", api.RegistryEventsView.as_view(), name="registry-events"),
    path(
        "registries/<str:name>/webhook/",
        api.RegistryWebhookView.as_view(),
        name="registry-webhook",
    ),
    path("registries/<str:name>/sync/", api.RegistrySyncView.as_view(), name="registry-sync"),
]
