from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    """Admins create users (``kehu createuser`` or the admin pages); nobody signs up."""

    def is_open_for_signup(self, request: Any) -> bool:
        return False
