from django.apps import AppConfig


class ValueConfig(AppConfig):
    name = "lifecycle.value"
    label = "value"

    def ready(self) -> None:
        # Registers this phase's KPI providers with the catalog's engine.
        from lifecycle.value.kpis import engine  # noqa: F401
