from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "lifecycle.monitoring"
    label = "monitoring"

    def ready(self) -> None:
        # Registers monitoring's KPI providers with the catalog's engine.
        from lifecycle.monitoring.kpis import engine  # noqa: F401
