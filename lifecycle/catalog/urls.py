from django.urls import include, path
from rest_framework.routers import DefaultRouter, SimpleRouter

from lifecycle.catalog import api

router = DefaultRouter()
router.register("industries", api.IndustryViewSet)
router.register("teams", api.TeamViewSet)
router.register("models", api.RegisteredModelViewSet)
router.register("endpoints", api.EndpointViewSet)
router.register("deployments", api.DeploymentViewSet)

versions_router = SimpleRouter()
versions_router.register("versions", api.ModelVersionViewSet, basename="modelversion")

api_urlpatterns = [
    path("", include(router.urls)),
    path("models/<str:model_name>/", include(versions_router.urls)),
]
