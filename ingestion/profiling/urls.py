"""Dataset API routes: reads from the data preparation phase, writes through profiling."""

from django.urls import path

from ingestion.profiling.api import DatasetVersionUploadView
from lifecycle.dataprep.api import DatasetDiffView, DatasetListView, DatasetVersionView

urlpatterns = [
    path("datasets/", DatasetListView.as_view(), name="api-datasets"),
    path(
        "datasets/<str:name>/versions/",
        DatasetVersionUploadView.as_view(),
        name="api-dataset-versions",
    ),
    path(
        "datasets/<str:name>/versions/<str:version>/",
        DatasetVersionView.as_view(),
        name="api-dataset-version",
    ),
    path("datasets/<str:name>/diff/", DatasetDiffView.as_view(), name="api-dataset-diff"),
]
