"""The top bar's menus come from the registry: one menu per group of record types (their
permission area, or the group they are listed under), with the other pages modules add, and
only what the user may open."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from kehu.platform.records import registry

pytestmark = pytest.mark.django_db


def menu(user: Any, path: str = "") -> dict[str, list[str]]:
    return {group.key: [item.key for item in group.items] for group in registry.navigation(user, path)}


def test_sales_users_get_a_customers_menu_and_a_sales_menu_with_borrowed_types_last(rep: Any) -> None:
    found = menu(rep)

    assert found["customers"][:2] == ["customer", "contact"]
    assert "need" not in found["customers"]  # lives inside a customer
    assert found["sales"][0] == "opportunity"
    assert found["sales"].index("product") > found["sales"].index("order")  # products are borrowed
    assert "receivables" in found["sales"]


def test_menus_leave_out_what_the_user_may_not_open(make_user: Any) -> None:
    from django.contrib.auth.models import Permission

    clerk = make_user("clerk", "sales", "East sales")
    clerk.role.permissions.remove(*Permission.objects.filter(content_type__app_label="contracts"))
    clerk = type(clerk).objects.get(pk=clerk.pk)

    found = menu(clerk)

    assert "contract" not in found["sales"]
    assert "receivables" not in found["sales"]


def test_the_item_and_menu_of_the_current_page_are_active(rep: Any) -> None:
    groups = {group.key: group for group in registry.navigation(rep, "/contacts/12/")}

    assert groups["customers"].active
    assert [item.key for item in groups["customers"].items if item.active] == ["contact"]
    assert not groups["sales"].active


def test_the_bar_renders_menus_with_their_items(rep: Any) -> None:
    client = Client()
    client.force_login(rep)

    body = client.get("/customers/").content.decode()

    assert 'data-testid="nav-group-customers"' in body
    assert 'data-testid="nav-group-sales"' in body
    assert 'data-testid="nav-customer"' in body
    assert 'data-testid="nav-receivables"' in body
