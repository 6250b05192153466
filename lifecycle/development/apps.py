from django.apps import AppConfig


class DevelopmentConfig(AppConfig):
    name = "lifecycle.development"
    label = "development"

    def ready(self) -> None:
        # Registers this phase's KPI providers with the catalog's engine.
        from lifecycle.development.kpis import engine  # noqa: F401
