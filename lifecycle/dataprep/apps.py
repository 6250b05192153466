from django.apps import AppConfig


class DataprepConfig(AppConfig):
    name = "lifecycle.dataprep"
    label = "dataprep"

    def ready(self) -> None:
        # Registers this phase's KPI providers with the catalog's engine.
        from lifecycle.dataprep.kpis import engine  # noqa: F401
