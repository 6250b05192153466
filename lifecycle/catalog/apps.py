from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_role_groups(sender: AppConfig, **kwargs: object) -> None:
    from lifecycle.catalog.roles import role_groups_ensure

    role_groups_ensure()


class CatalogConfig(AppConfig):
    name = "lifecycle.catalog"
    label = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from lifecycle.catalog import schema  # noqa: F401  registers the token scheme

        # Groups need the permissions, which Django creates after each migrate.
        post_migrate.connect(_ensure_role_groups, dispatch_uid="kpiboard_role_groups")
