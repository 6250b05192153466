from django.urls import path

from lifecycle.dataprep import views

app_name = "dataprep"

urlpatterns = [
    path("", views.index, name="index"),
]
