from django.urls import path

from lifecycle.deployment import views

app_name = "deployment"

urlpatterns = [
    path("", views.index, name="index"),
    path("models/<str:name>/timeline/", views.timeline, name="timeline"),
    path("registries/", views.registries, name="registries"),
    path("registries/<str:name>/", views.registry_detail, name="registry"),
]
