from django.urls import path

from lifecycle.deployment import views

app_name = "deployment"

urlpatterns = [
    path("", views.index, name="index"),
]
