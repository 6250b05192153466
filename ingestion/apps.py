from django.apps import AppConfig


class IngestionConfig(AppConfig):
    name = "ingestion"

    def ready(self) -> None:
        from ingestion.shadow_marks import shadow_marks_connect

        # A shadow span written after its copies were rolled up re-marks their hours.
        shadow_marks_connect()
