from django.urls import path

from lifecycle.dataprep import views

app_name = "dataprep"

urlpatterns = [
    path("", views.index, name="index"),
    path("<str:name>/", views.dataset, name="dataset"),
    path("<str:name>/diff/", views.diff, name="diff"),
    path("<str:name>/versions/<str:version>/", views.version, name="version"),
]
