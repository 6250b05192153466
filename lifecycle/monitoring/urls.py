from django.urls import path

from lifecycle.monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("", views.index, name="index"),
    path("models/<str:name>/", views.model_health, name="model-health"),
]
