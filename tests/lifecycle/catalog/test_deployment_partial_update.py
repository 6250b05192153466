"""A deployment's model and version may be changed one at a time."""

from datetime import timedelta

from lifecycle.catalog.models import Deployment
from tests import factories


def _deployment(fraud_scorer, now):
    v1 = factories.version_make(fraud_scorer, "1", registered_at=now - timedelta(days=9))
    factories.version_make(fraud_scorer, "2", registered_at=now - timedelta(days=2))
    return factories.deployment_make(v1, started_at=now - timedelta(days=8))


def test_a_patch_naming_only_the_version_keeps_the_model(api_as, bob, fraud_scorer, now):
    deployment = _deployment(fraud_scorer, now)
    response = api_as(bob).patch(
        f"/api/v1/deployments/{deployment.pk}/", {"version": "2"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert Deployment.objects.get(pk=deployment.pk).model_version.version == "2"


def test_a_multipart_patch_naming_only_the_model_is_checked_not_a_500(
    api_as, bob, fraud_scorer, now
):
    deployment = _deployment(fraud_scorer, now)
    response = api_as(bob).patch(
        f"/api/v1/deployments/{deployment.pk}/", {"model": "no-such-model"}, format="multipart"
    )
    assert response.status_code == 400
    assert "version" in response.json()
    assert Deployment.objects.get(pk=deployment.pk).model_version.version == "1"
