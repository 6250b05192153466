"""The admin site refuses, as the API does, a delete that would cascade away serving
history (it lists what still refers to the object and deletes nothing), and lets only
admins make API tokens."""

from datetime import timedelta

import pytest
from django.test import Client

from lifecycle.catalog.models import RegisteredModel, ServingEvent
from tests import factories

pytestmark = pytest.mark.django_db


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_will_not_delete_a_model_with_serving_history(root, fraud_scorer, now):
    version = factories.version_make(fraud_scorer, "1")
    ServingEvent.objects.bulk_create(
        [factories.event_build(version, timestamp=now - timedelta(hours=1))]
    )
    url = f"/admin/catalog/registeredmodel/{fraud_scorer.pk}/delete/"
    page = _logged_in(root).get(url)
    assert page.status_code == 200
    assert b"serving events" in page.content
    _logged_in(root).post(url, {"post": "yes"})
    assert RegisteredModel.objects.filter(pk=fraud_scorer.pk).exists()
    assert ServingEvent.objects.count() == 1


def test_the_admin_deletes_a_model_nothing_refers_to(root, fraud_scorer):
    url = f"/admin/catalog/registeredmodel/{fraud_scorer.pk}/delete/"
    response = _logged_in(root).post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not RegisteredModel.objects.filter(pk=fraud_scorer.pk).exists()


def test_a_model_page_offers_no_inline_delete_of_its_versions(root, fraud_scorer):
    factories.version_make(fraud_scorer, "1")
    page = _logged_in(root).get(f"/admin/catalog/registeredmodel/{fraud_scorer.pk}/change/")
    assert b"versions-0-DELETE" not in page.content


def test_an_mlops_engineer_granted_token_rights_by_hand_still_cannot_add_a_token(bob):
    from django.contrib.auth.models import Permission

    bob.user_permissions.add(*Permission.objects.filter(codename__endswith="_apitoken"))
    response = _logged_in(bob).get("/admin/catalog/apitoken/add/")
    assert response.status_code == 403
