from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from ingestion.urls import api_urlpatterns as ingestion_api
from kpiboard import api, views
from lifecycle.catalog.urls import api_urlpatterns as catalog_api

api_v1 = [
    *catalog_api,
    *ingestion_api,
    path("kpis/portfolio/", api.PortfolioKpisView.as_view(), name="kpis-portfolio"),
    path("kpis/models/<str:model_name>/", api.ModelKpisView.as_view(), name="kpis-model"),
    path("", include("lifecycle.dataprep.api_urls")),  # datasets, profiles, diffs
    path("", include("ingestion.profiling.urls")),  # dataset upload (and its versions list)
    path("", include("lifecycle.development.api_urls")),  # training runs
    path("", include("lifecycle.deployment.api_urls")),  # registries, ledger, deployment KPIs
    path("", include("ingestion.registry.urls")),  # registry events, MLflow webhooks
    path("", include("lifecycle.value.api_urls")),  # business-value KPIs
]

urlpatterns = [
    path("", views.portfolio, name="portfolio"),
    path("healthz", views.healthz, name="healthz"),
    path("search/", views.search, name="search"),
    path("models/<str:name>/", views.model_page, name="model"),
    path("models/<str:name>/versions/<str:version>/", views.version_page, name="model-version"),
    path("models/<str:name>/endpoints/<str:endpoint>/", views.endpoint_page, name="model-endpoint"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's init script from this URL (?script), not inline.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("data/", include("lifecycle.dataprep.urls")),
    path("development/", include("lifecycle.development.urls")),
    path("deployment/", include("lifecycle.deployment.urls")),
    path("monitoring/", include("lifecycle.monitoring.urls")),
    path("value/", include("lifecycle.value.urls")),
]

handler404 = views.not_found
