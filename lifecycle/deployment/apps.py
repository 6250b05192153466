from django.apps import AppConfig


class DeploymentConfig(AppConfig):
    name = "lifecycle.deployment"
    label = "deployment"

    def ready(self) -> None:
        # Registers this phase's KPI providers with the catalog's engine.
        from lifecycle.deployment.kpis import engine  # noqa: F401
