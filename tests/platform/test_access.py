"""Row-level visibility and action permissions (platform/access.py) across a three-level team
tree: Head office → East sales → Shanghai, and Head office → South sales."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from kehu.accounts.models import Role, Visibility
from kehu.accounts.services import token_create
from kehu.customers.models import Contact, Customer
from kehu.customers.records import CONTACT, CUSTOMER
from kehu.platform import services
from kehu.platform.access import can, can_reassign, require, visibility_scope, visible_to
from kehu.platform.context import Context, Source

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(
    make_customer: Any,
    rep: Any,
    teammate: Any,
    sub_rep: Any,
    other_rep: Any,
    manager: Any,
) -> dict[str, Any]:
    """One customer owned by each user, named after its owner."""
    users = {"rep": rep, "teammate": teammate, "sub_rep": sub_rep, "other": other_rep, "manager": manager}
    return {name: make_customer(user, name=name) for name, user in users.items()}


def visible_names(user: Any) -> set[str]:
    return set(visible_to(user, Customer.objects.all(), CUSTOMER).values_list("name", flat=True))


def test_sales_rep_sees_own_and_own_team_records_but_not_sub_teams_or_other_teams(
    rep: Any, records: dict[str, Any]
) -> None:
    assert visibility_scope(rep) == Visibility.TEAM
    assert visible_names(rep) == {"rep", "teammate", "manager"}


def test_manager_sees_own_team_and_every_team_below_but_not_sibling_teams(
    manager: Any, records: dict[str, Any]
) -> None:
    assert visibility_scope(manager) == Visibility.TEAM_TREE
    assert visible_names(manager) == {"rep", "teammate", "sub_rep", "manager"}


def test_manager_at_the_top_of_the_tree_sees_every_team(make_user: Any, head: Any, records: dict[str, Any]) -> None:
    chief = make_user("chief", "manager", "Head office")

    assert visible_names(chief) == {"rep", "teammate", "sub_rep", "other", "manager"}


def test_manager_of_a_leaf_team_sees_only_that_team(make_user: Any, shanghai: Any, records: dict[str, Any]) -> None:
    leaf_manager = make_user("leaf", "manager", "Shanghai")

    assert visible_names(leaf_manager) == {"sub_rep"}


@pytest.mark.parametrize("role", ["admin", "read_only", "service", "marketing"])
def test_roles_with_all_visibility_see_every_record(make_user: Any, records: dict[str, Any], role: str) -> None:
    user = make_user(f"{role}_user", role)

    assert visible_names(user) == {"rep", "teammate", "sub_rep", "other", "manager"}


def test_superuser_without_a_role_sees_everything(make_user: Any, records: dict[str, Any]) -> None:
    root = make_user("root", "sales")
    root.role = None
    root.is_superuser = True
    root.save()

    assert visibility_scope(root) == "all"
    assert len(visible_names(root)) == 5


def test_user_without_a_team_sees_only_own_records_at_team_levels(
    make_user: Any, make_customer: Any, records: dict[str, Any]
) -> None:
    loner = make_user("loner", "manager")
    make_customer(loner, name="loner")

    assert visible_names(loner) == {"loner"}


def test_role_with_own_visibility_sees_only_own_records(rep: Any, records: dict[str, Any]) -> None:
    Role.objects.filter(key="sales").update(visibility=Visibility.OWN)
    rep.refresh_from_db()

    assert visible_names(rep) == {"rep"}


def test_owner_keeps_seeing_a_record_moved_to_another_team(
    manager: Any, rep: Any, south: Any, make_customer: Any
) -> None:
    customer = make_customer(rep, name="Moved")
    services.record_update(CUSTOMER, ctx=Context(user=manager), obj=customer, data={"team": south})

    assert Customer.objects.get(pk=customer.pk).team == south
    assert visible_names(rep) == {"Moved"}


def test_inactive_and_anonymous_users_see_nothing(rep: Any, records: dict[str, Any]) -> None:
    rep.is_active = False
    rep.save()

    assert visibility_scope(rep) == "none"
    assert visible_names(rep) == set()
    assert visible_names(AnonymousUser()) == set()


def test_contact_visibility_follows_its_customer_not_its_own_owner(
    rep: Any, other_rep: Any, make_customer: Any, make_contact: Any
) -> None:
    mine = make_customer(rep, name="Mine")
    contact = make_contact(rep, mine)
    # Even if the contact's own owner and team drifted, its customer decides who sees it.
    Contact.all_objects.filter(pk=contact.pk).update(owner=other_rep, team=other_rep.team)

    assert list(visible_to(rep, Contact.objects.all(), CONTACT)) == [contact]
    assert list(visible_to(other_rep, Contact.objects.all(), CONTACT)) == []


def test_visible_to_finds_the_record_type_from_the_queryset(rep: Any, other_rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Mine")
    make_customer(other_rep, name="Theirs")

    assert list(visible_to(rep, Customer.objects.all()).values_list("name", flat=True)) == ["Mine"]


# --- action permissions ------------------------------------------------------------------


def test_read_only_user_cannot_create_update_delete_or_restore(reader: Any, rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")
    trashed = make_customer(rep, name="Trashed")
    services.record_delete(CUSTOMER, ctx=Context(user=rep), obj=trashed)
    trashed = Customer.all_objects.get(pk=trashed.pk)
    ctx = Context(user=reader)

    with pytest.raises(PermissionDenied):
        services.record_create(CUSTOMER, ctx=ctx, data={"name": "New"})
    with pytest.raises(PermissionDenied):
        services.record_update(CUSTOMER, ctx=ctx, obj=customer, data={"name": "Changed"})
    with pytest.raises(PermissionDenied):
        services.record_delete(CUSTOMER, ctx=ctx, obj=customer)
    with pytest.raises(PermissionDenied):
        services.record_bulk_delete(CUSTOMER, ctx=ctx, objs=[customer])
    with pytest.raises(PermissionDenied):
        services.record_restore(CUSTOMER, ctx=ctx, obj=trashed)

    assert list(Customer.objects.values_list("name", flat=True)) == ["Acme"]
    assert Customer.all_objects.get(pk=trashed.pk).is_deleted
    assert Customer.objects.get(pk=customer.pk).version == 1


def test_permission_denied_message_names_the_action_and_record_type(reader: Any) -> None:
    with pytest.raises(PermissionDenied, match="permission to create customers"):
        require(Context(user=reader), CUSTOMER, "add")


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("admin", {"view", "add", "change", "delete"}),
        ("manager", {"view", "add", "change", "delete"}),
        ("sales", {"view", "add", "change", "delete"}),
        ("service", {"view", "change"}),
        ("marketing", {"view"}),
        ("read_only", {"view"}),
    ],
)
def test_roles_allow_the_documented_actions_on_customers_and_contacts(
    make_user: Any, role: str, allowed: set[str]
) -> None:
    user = make_user(f"{role}_user", role)

    for rt in (CUSTOMER, CONTACT):
        assert {action for action in ("view", "add", "change", "delete") if can(user, rt, action)} == allowed


def test_service_user_can_change_but_not_create_customers(make_user: Any, rep: Any, make_customer: Any) -> None:
    agent = make_user("agent", "service")
    customer = make_customer(rep, name="Acme")

    services.record_update(CUSTOMER, ctx=Context(user=agent), obj=customer, data={"notes": "Called back"})
    with pytest.raises(PermissionDenied):
        services.record_create(CUSTOMER, ctx=Context(user=agent), data={"name": "New"})

    assert Customer.objects.get(pk=customer.pk).notes == "Called back"
    assert Customer.objects.count() == 1


def test_inactive_user_may_do_nothing(rep: Any) -> None:
    rep.is_active = False
    rep.save()

    assert not can(rep, CUSTOMER, "view")
    assert not can(rep, CUSTOMER, "add")


@pytest.mark.parametrize(
    ("scopes", "allowed"),
    [
        (["read"], {"view"}),
        (["customers:read"], {"view"}),
        (["write"], {"view", "add", "change", "delete"}),
        (["customers:write"], {"view", "add", "change", "delete"}),
    ],
)
def test_token_scopes_narrow_what_the_role_allows(rep: Any, scopes: list[str], allowed: set[str]) -> None:
    token, _raw = token_create(ctx=Context(user=rep, source=Source.CLI), user=rep, scopes=scopes)
    ctx = Context(user=rep, source=Source.API, token=token)

    assert {action for action in ("view", "add", "change", "delete") if can(ctx, CUSTOMER, action)} == allowed


def test_token_scopes_never_widen_the_role(reader: Any) -> None:
    token, _raw = token_create(ctx=Context(user=reader), user=reader, scopes=["write"])

    with pytest.raises(PermissionDenied):
        require(Context(user=reader, source=Source.API, token=token), CUSTOMER, "add")


# --- reassignment ------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "expected"), [("admin", True), ("manager", True), ("sales", False)])
def test_can_reassign_follows_the_reassign_permission(make_user: Any, role: str, expected: bool) -> None:
    user = make_user(f"{role}_user", role)

    assert can_reassign(Context(user=user)) is expected


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [(["read"], False), (["customers:read"], False), (["write"], True), (["customers:write"], True)],
)
def test_can_reassign_through_a_token_needs_a_write_scope(manager: Any, scopes: list[str], expected: bool) -> None:
    token, _raw = token_create(ctx=Context(user=manager), user=manager, scopes=scopes)

    assert can_reassign(Context(user=manager, source=Source.API, token=token)) is expected


def test_write_token_of_a_sales_rep_cannot_reassign(rep: Any) -> None:
    token, _raw = token_create(ctx=Context(user=rep), user=rep, scopes=["write"])

    assert can_reassign(Context(user=rep, source=Source.API, token=token)) is False


def test_granting_the_reassign_permission_lets_a_rep_give_records_away(
    rep: Any, teammate: Any, make_customer: Any
) -> None:
    from django.contrib.auth.models import Permission

    Role.objects.get(key="sales").permissions.add(Permission.objects.get(codename="reassign_records"))
    rep = type(rep).objects.get(pk=rep.pk)  # a fresh user: permissions are cached per instance
    customer = make_customer(rep, name="Acme")

    services.record_update(CUSTOMER, ctx=Context(user=rep), obj=customer, data={"owner": teammate})

    assert Customer.objects.get(pk=customer.pk).owner == teammate
