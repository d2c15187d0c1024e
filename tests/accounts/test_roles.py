"""Default roles (accounts/roles.py): created by migrate with the permissions and visibility the
admin guide documents, written once, and an admin's later changes stick."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from kehu.accounts.models import Role, Visibility
from kehu.accounts.roles import DEFAULT_ROLES, ensure_default_roles

pytestmark = pytest.mark.django_db

CRUD = {"view", "add", "change", "delete"}


def record_perms(actions: set[str], area: str | None = "customers") -> set[str]:
    """The permissions on every record type of ``area`` (customers: customers, contacts,
    interactions, tasks, …; sales: opportunities, contracts, payments, orders; products;
    ``None``: every area)."""
    from kehu.platform.records import registry

    return {
        f"{rt.app_label}.{action}_{rt.model._meta.model_name}"
        for rt in registry
        if area is None or rt.area == area
        for action in actions
    }


# managers' further permissions: product categories, exchange rates, sales quotas, credit limits
MANAGER_EXTRAS = {
    "products.add_productcategory",
    "products.change_productcategory",
    "products.delete_productcategory",
    "platform.add_exchangerate",
    "platform.change_exchangerate",
    "opportunities.view_quota",
    "opportunities.add_quota",
    "opportunities.change_quota",
    "contracts.set_credit_limit",
    "quality.change_qualitypolicy",
}


def tag_perms(actions: set[str]) -> set[str]:
    return {f"platform.{action}_tag" for action in actions}


# docs/admin-guide.md, "Roles" and "Tags"
READ_SALES = record_perms({"view"}, "products") | record_perms({"view"}, "sales")
DOCUMENTED = {
    "admin": (Visibility.ALL, record_perms(CRUD, None) | tag_perms(CRUD)),
    "manager": (
        Visibility.TEAM_TREE,
        record_perms(CRUD, None)
        | {"accounts.reassign_records", "platform.view_auditentry"}
        | MANAGER_EXTRAS
        | tag_perms({"view", "add", "change"}),
    ),
    "sales": (
        Visibility.TEAM,
        record_perms(CRUD) | record_perms({"view"}, "products") | record_perms(CRUD, "sales") | tag_perms({"add"}),
    ),
    "service": (Visibility.ALL, record_perms({"view", "change"}) | READ_SALES | tag_perms({"add"})),
    "marketing": (Visibility.ALL, record_perms({"view"}) | READ_SALES | tag_perms({"add"})),
    "read_only": (Visibility.ALL, record_perms({"view"}, None)),
}


def perms_of(role: Role) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in role.permissions.select_related("content_type")}


def state() -> dict[str, tuple[str, set[str], list[str]]]:
    return {role.key: (role.visibility, perms_of(role), role.defaults_applied) for role in Role.objects.all()}


def test_migrate_creates_the_six_default_roles_in_order() -> None:
    assert list(Role.objects.values_list("key", flat=True)) == list(DEFAULT_ROLES)
    assert list(DEFAULT_ROLES) == ["admin", "manager", "sales", "service", "marketing", "read_only"]


@pytest.mark.parametrize("key", list(DOCUMENTED))
def test_default_role_has_the_documented_visibility_and_permissions(key: str) -> None:
    visibility, permissions = DOCUMENTED[key]
    role = Role.objects.get(key=key)

    assert role.visibility == visibility
    assert perms_of(role) == permissions
    assert {"customers.customer", "customers.contact"} <= set(role.defaults_applied)


def test_only_the_admin_role_is_admin() -> None:
    assert [role.key for role in Role.objects.all() if role.is_admin] == ["admin"]


def test_ensure_default_roles_is_idempotent() -> None:
    before = state()

    ensure_default_roles()
    ensure_default_roles()

    assert state() == before
    assert Role.objects.count() == len(DEFAULT_ROLES)


def test_permission_an_admin_removed_is_not_granted_again() -> None:
    sales = Role.objects.get(key="sales")
    sales.permissions.remove(Permission.objects.get(codename="delete_customer"))

    ensure_default_roles()

    assert "customers.delete_customer" not in perms_of(Role.objects.get(key="sales"))
    assert "customers.delete_contact" in perms_of(Role.objects.get(key="sales"))


def test_extra_permission_an_admin_removed_is_not_granted_again() -> None:
    manager = Role.objects.get(key="manager")
    manager.permissions.remove(Permission.objects.get(codename="reassign_records"))

    ensure_default_roles()

    assert "accounts.reassign_records" not in perms_of(Role.objects.get(key="manager"))


def test_visibility_and_permissions_an_admin_added_are_kept() -> None:
    Role.objects.filter(key="marketing").update(visibility=Visibility.OWN)
    Role.objects.get(key="marketing").permissions.add(Permission.objects.get(codename="add_customer"))

    ensure_default_roles()

    marketing = Role.objects.get(key="marketing")
    assert marketing.visibility == Visibility.OWN
    assert "customers.add_customer" in perms_of(marketing)


def test_record_type_not_yet_applied_gets_its_defaults_once() -> None:
    """What an upgrade adding a record type looks like: its model is not in ``defaults_applied``."""
    sales = Role.objects.get(key="sales")
    sales.permissions.remove(*Permission.objects.filter(content_type__model="contact"))
    sales.defaults_applied = [key for key in sales.defaults_applied if key != "customers.contact"]
    sales.save()

    ensure_default_roles()

    sales = Role.objects.get(key="sales")
    assert perms_of(sales) == DOCUMENTED["sales"][1]
    assert "customers.contact" in sales.defaults_applied


def test_deleted_default_role_is_recreated_with_its_defaults() -> None:
    Role.objects.filter(key="marketing").delete()

    ensure_default_roles()

    marketing = Role.objects.get(key="marketing")
    assert (marketing.name, marketing.visibility) == ("Marketing", Visibility.ALL)
    assert perms_of(marketing) == DOCUMENTED["marketing"][1]


def test_renamed_role_keeps_its_name() -> None:
    Role.objects.filter(key="sales").update(name="Account executives")

    ensure_default_roles()

    assert Role.objects.get(key="sales").name == "Account executives"
