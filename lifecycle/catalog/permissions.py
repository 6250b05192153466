from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import permissions
from rest_framework.request import Request

if TYPE_CHECKING:  # importing DRF views here would be circular at settings load
    from rest_framework.views import APIView

from lifecycle.catalog.roles import WRITE_ROLES, role_of


class RoleWritePermission(permissions.BasePermission):
    """Any authenticated user or token reads; writes need one of the view's write roles
    (admins and MLOps engineers unless the view says otherwise)."""

    message = "Your role may read but not change this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        write_roles = getattr(view, "write_roles", WRITE_ROLES)
        return role_of(request.user) in write_roles
