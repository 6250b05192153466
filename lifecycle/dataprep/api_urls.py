"""The data preparation phase's read routes: datasets, a version with its profile, diffs.

The versions list shares its URL with the upload (`GET` reads, `POST` writes), so that
one route is declared with the write path in `ingestion.profiling.urls`.
"""

from django.urls import path

from lifecycle.dataprep.api import DatasetDiffView, DatasetListView, DatasetVersionView

urlpatterns = [
    path("datasets/", DatasetListView.as_view(), name="api-datasets"),
    path(
        "datasets/<str:name>/versions/<str:version>/",
        DatasetVersionView.as_view(),
        name="api-dataset-version",
    ),
    path("datasets/<str:name>/diff/", DatasetDiffView.as_view(), name="api-dataset-diff"),
]
