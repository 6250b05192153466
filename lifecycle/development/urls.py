from django.urls import path

from lifecycle.development import views

app_name = "development"

urlpatterns = [
    path("", views.index, name="index"),
    path("models/<str:name>/", views.model, name="model"),
]
