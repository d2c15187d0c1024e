"""Permissions come from the user's role (admin has them all)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission


class RoleBackend(ModelBackend):
    """Django's model backend, with the role's permissions in place of groups'."""

    def _get_group_permissions(self, user_obj: Any) -> Any:
        if user_obj.role_id is None:
            return Permission.objects.none()
        return Permission.objects.filter(role__id=user_obj.role_id)

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        if user_obj.is_active and getattr(user_obj, "is_kehu_admin", False):
            return True
        return super().has_perm(user_obj, perm, obj)

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        if user_obj.is_active and getattr(user_obj, "is_kehu_admin", False):
            return True
        return super().has_module_perms(user_obj, app_label)
