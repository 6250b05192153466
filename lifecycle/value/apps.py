from django.apps import AppConfig


class ValueConfig(AppConfig):
    name = "lifecycle.value"
    label = "value"
