"""Every HTML page of the site, as paths into the demo portfolio: shared by the CSP test
and the browser test that opens each page."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import Count

from demo.seed import demo_portfolio_seed
from lifecycle.catalog.models import Dataset, Deployment, RegisteredModel
from lifecycle.deployment.models import Registry

# Small enough to seed in seconds; every page still has rows and charts.
DEMO_SIZE = {"days": 3, "volume": 0.2}


def demo_site_seed(*, now: datetime) -> None:
    demo_portfolio_seed(now=now, **DEMO_SIZE)


def site_page_paths() -> dict[str, str]:
    """Page name -> path, for every page a logged-in admin can open."""
    model = RegisteredModel.objects.order_by("name").first().name
    # A dataset with two profiled versions: its diff page has something to compare.
    dataset = (
        Dataset.objects.annotate(profiled=Count("versions__profile"))
        .filter(profiled__gte=2)
        .order_by("name")
        .first()
    )
    version = dataset.versions.filter(profile__isnull=False).order_by("created_at").last().version
    registry = Registry.objects.order_by("name").first().name
    deployed = Deployment.objects.filter(model_version__model__name=model).order_by("-started_at")[
        0
    ]
    admin_user = User.objects.get(username="admin")
    return {
        "portfolio": "/",
        "model": f"/models/{model}/",
        "model version": f"/models/{model}/versions/{deployed.model_version.version}/",
        "model endpoint": f"/models/{model}/endpoints/{deployed.endpoint.name}/",
        "search": f"/search/?q={model[:4]}",
        "data": "/data/",
        "dataset": f"/data/{dataset.name}/",
        "dataset version": f"/data/{dataset.name}/versions/{version}/",
        "dataset diff": f"/data/{dataset.name}/diff/",
        "development": "/development/",
        "development model": f"/development/models/{model}/",
        "deployment": "/deployment/",
        "model timeline": f"/deployment/models/{model}/timeline/",
        "registries": "/deployment/registries/",
        "registry": f"/deployment/registries/{registry}/",
        "monitoring": "/monitoring/",
        "model health": f"/monitoring/models/{model}/",
        "value": "/value/",
        "admin": "/admin/",
        "admin list": "/admin/auth/user/",
        "admin change form": f"/admin/auth/user/{admin_user.pk}/change/",
        "api docs": "/api/docs/",
    }
