from django.apps import AppConfig


class DeploymentConfig(AppConfig):
    name = "lifecycle.deployment"
    label = "deployment"
