from django.apps import AppConfig


class DataprepConfig(AppConfig):
    name = "lifecycle.dataprep"
    label = "dataprep"
