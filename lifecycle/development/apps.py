from django.apps import AppConfig


class DevelopmentConfig(AppConfig):
    name = "lifecycle.development"
    label = "development"
