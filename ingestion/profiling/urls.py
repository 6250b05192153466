"""The dataset write route: upload a file or push a profile.

`GET` on the same URL lists the versions, answered by the data preparation phase's read
view that the upload view extends; the other read routes are `lifecycle.dataprep.api_urls`.
"""

from django.urls import path

from ingestion.profiling.api import DatasetVersionUploadView

urlpatterns = [
    path(
        "datasets/<str:name>/versions/",
        DatasetVersionUploadView.as_view(),
        name="api-dataset-versions",
    ),
]
