"""The deployment API, mounted under /api/v1/ by kpiboard/urls.py."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from lifecycle.deployment import api

router = SimpleRouter()
router.register("registries", api.RegistryViewSet, basename="registry")
router.register("lifecycle-changes", api.LifecycleChangeViewSet, basename="lifecyclechange")

urlpatterns = [
    path("kpis/deployment/", api.DeploymentKpisView.as_view(), name="kpis-deployment"),
    path("", include(router.urls)),
]
