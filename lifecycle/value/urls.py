from django.urls import path

from lifecycle.value import views

app_name = "value"

urlpatterns = [
    path("", views.index, name="index"),
]
