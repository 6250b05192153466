"""Passwords are checked by every validator Django ships, through the paths people use."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from demo.users import DEMO_PASSWORD
from lifecycle.catalog.models import Role
from tests import factories


def test_it_refuses_a_numeric_only_password():
    with pytest.raises(ValidationError) as refused:
        validate_password("4815162342108")

    assert "password_entirely_numeric" in {error.code for error in refused.value.error_list}


def test_it_accepts_the_demo_password():
    validate_password(DEMO_PASSWORD)


def test_the_admin_password_form_refuses_a_numeric_only_password(client, db):
    root = factories.user_make("root", Role.ADMIN)
    carol = factories.user_make("carol", Role.EXECUTIVE)
    client.force_login(root)

    response = client.post(
        f"/admin/auth/user/{carol.pk}/password/",
        {"password1": "4815162342108", "password2": "4815162342108"},
    )

    assert response.status_code == 200  # the form again, with its error
    assert "This password is entirely numeric." in response.content.decode()
    carol.refresh_from_db()
    assert not carol.check_password("4815162342108")
