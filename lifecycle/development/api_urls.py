from django.urls import path

from lifecycle.development.api import TrainingRunsView

urlpatterns = [
    path("training-runs/", TrainingRunsView.as_view(), name="api-training-runs"),
]
