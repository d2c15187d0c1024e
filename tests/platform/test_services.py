"""The generic write path (platform/services.py) through the customer and contact record types:
numbering, ownership, optimistic locking, validation, soft delete and the bulk forms."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kehu.customers.models import Contact, Customer
from kehu.customers.records import CONTACT, CUSTOMER
from kehu.platform import services
from kehu.platform.context import Context, Source
from kehu.platform.errors import NotVisible, StaleVersion
from kehu.platform.models import AuditEntry, NumberSequence
from kehu.platform.numbering import next_number, next_numbers

pytestmark = pytest.mark.django_db


def ctx(user: Any) -> Context:
    return Context(user=user, source=Source.WEB)


def sequence_value(number: str) -> int:
    return int(number.rsplit("-", 1)[1])


# --- numbering ---------------------------------------------------------------------------


def test_create_assigns_sequential_numbers_with_the_type_prefix(
    rep: Any, make_customer: Any, make_contact: Any
) -> None:
    first = make_customer(rep, name="First")
    second = make_customer(rep, name="Second")
    contact = make_contact(rep, first)

    assert re.fullmatch(r"C-\d{6}", first.number)
    assert sequence_value(second.number) == sequence_value(first.number) + 1
    assert re.fullmatch(r"P-\d{6}", contact.number)
    assert NumberSequence.objects.get(prefix="C").last_value == sequence_value(second.number)


def test_number_of_a_deleted_record_is_never_reused(rep: Any, make_customer: Any) -> None:
    first = make_customer(rep, name="First")
    services.record_delete(CUSTOMER, ctx=ctx(rep), obj=first)
    services.record_restore(CUSTOMER, ctx=ctx(rep), obj=first)
    services.record_delete(CUSTOMER, ctx=ctx(rep), obj=first)

    second = make_customer(rep, name="Second")

    assert second.number != first.number
    assert sequence_value(second.number) == sequence_value(first.number) + 1
    assert Customer.all_objects.get(pk=first.pk).number == first.number


def test_a_block_of_numbers_is_reserved_in_one_go_and_the_sequence_continues_after_it(db: Any) -> None:
    assert next_numbers("TST", 3) == ["TST-000001", "TST-000002", "TST-000003"]
    assert next_number("TST") == "TST-000004"
    assert next_number("OTHER") == "OTHER-000001"


# --- create ------------------------------------------------------------------------------


def test_create_sets_owner_team_creator_updater_and_version_one(rep: Any, east: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme", industry="Steel")

    stored = Customer.objects.get(pk=customer.pk)
    assert stored.owner == rep
    assert stored.team == east
    assert stored.created_by == rep
    assert stored.updated_by == rep
    assert stored.version == 1
    assert stored.deleted_at is None
    assert stored.industry == "Steel"


def test_create_normalizes_phone_to_e164(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, phone="138 1234 5678")

    assert Customer.objects.get(pk=customer.pk).phone == "+8613812345678"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": ""}, "name"),
        ({"phone": "12345"}, "phone"),
        ({"phone": "call me maybe"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"website": "not a url"}, "website"),
        ({"kind": "alien"}, "kind"),
        ({"number": "C-999999"}, "number"),
        ({"version": 7}, "version"),
    ],
)
def test_invalid_create_raises_validation_error_naming_the_field_and_writes_nothing(
    rep: Any, published: list[Any], django_capture_on_commit_callbacks: Any, data: dict[str, Any], field: str
) -> None:
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as raised:
        services.record_create(CUSTOMER, ctx=ctx(rep), data={"name": "Acme", **data})

    assert field in raised.value.message_dict
    assert not Customer.all_objects.exists()
    assert not AuditEntry.objects.filter(action="create").exists()
    assert published == []
    assert not NumberSequence.objects.filter(prefix="C", last_value__gt=0).exists()


def test_contact_of_a_customer_the_actor_cannot_see_is_refused(
    rep: Any, other_rep: Any, make_customer: Any, make_contact: Any
) -> None:
    theirs = make_customer(other_rep, name="Theirs")

    with pytest.raises(ValidationError) as raised:
        make_contact(rep, theirs)

    assert "customer" in raised.value.message_dict
    assert not Contact.all_objects.exists()


def test_contact_cannot_be_added_to_a_customer_in_the_trash(rep: Any, make_customer: Any, make_contact: Any) -> None:
    customer = make_customer(rep, name="Acme")
    services.record_delete(CUSTOMER, ctx=ctx(rep), obj=customer)

    with pytest.raises(ValidationError) as raised:
        make_contact(rep, customer.pk)

    assert "customer" in raised.value.message_dict


def test_contact_takes_owner_and_team_from_its_customer(
    manager: Any, sub_rep: Any, shanghai: Any, make_customer: Any, make_contact: Any
) -> None:
    customer = make_customer(manager, name="Acme", owner=sub_rep)

    contact = make_contact(manager, customer)

    assert contact.owner == sub_rep
    assert contact.team == shanghai
    assert contact.created_by == manager


# --- update ------------------------------------------------------------------------------


def test_update_bumps_version_and_records_who_changed_it(rep: Any, teammate: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")

    services.record_update(CUSTOMER, ctx=ctx(teammate), obj=customer, data={"name": "Acme Ltd"}, version=1)

    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.name, stored.version, stored.updated_by) == ("Acme Ltd", 2, teammate)
    assert stored.created_by == rep
    assert customer.version == 2


def test_update_without_changes_keeps_version_and_writes_no_audit_entry(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")

    services.record_update(CUSTOMER, ctx=ctx(rep), obj=customer, data={"name": "Acme"})

    assert Customer.objects.get(pk=customer.pk).version == 1
    assert not AuditEntry.objects.filter(action="update").exists()


def test_stale_version_raises_and_changes_nothing(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")
    services.record_update(CUSTOMER, ctx=ctx(rep), obj=customer, data={"name": "First edit"})

    with pytest.raises(StaleVersion) as raised:
        services.record_update(CUSTOMER, ctx=ctx(rep), obj=customer, data={"name": "Second edit"}, version=1)

    assert raised.value.current_version == 2
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.name, stored.version) == ("First edit", 2)
    assert AuditEntry.objects.filter(action="update").count() == 1


def test_update_of_a_copy_loaded_before_someone_elses_change_raises_stale_version(
    rep: Any, teammate: Any, make_customer: Any
) -> None:
    customer = make_customer(rep, name="Acme")
    mine = Customer.objects.get(pk=customer.pk)
    theirs = Customer.objects.get(pk=customer.pk)
    services.record_update(CUSTOMER, ctx=ctx(teammate), obj=theirs, data={"industry": "Steel"})

    with pytest.raises(StaleVersion) as raised:
        services.record_update(CUSTOMER, ctx=ctx(rep), obj=mine, data={"name": "Mine"})

    assert raised.value.current_version == 2
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.name, stored.industry, stored.version) == ("Acme", "Steel", 2)
    assert AuditEntry.objects.filter(action="update").count() == 1


def test_invalid_update_raises_validation_error_and_writes_nothing(
    rep: Any, make_customer: Any, published: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    customer = make_customer(rep, name="Acme", email="info@acme.example")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as raised:
        services.record_update(CUSTOMER, ctx=ctx(rep), obj=customer, data={"name": "Acme Ltd", "email": "nope"})

    assert "email" in raised.value.message_dict
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.name, stored.email, stored.version) == ("Acme", "info@acme.example", 1)
    assert not AuditEntry.objects.filter(action="update").exists()
    assert published == []


def test_update_of_a_record_in_the_trash_raises_not_visible(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")
    services.record_delete(CUSTOMER, ctx=ctx(rep), obj=customer)
    trashed = Customer.all_objects.get(pk=customer.pk)

    with pytest.raises(NotVisible):
        services.record_update(CUSTOMER, ctx=ctx(rep), obj=trashed, data={"name": "Back"})

    assert Customer.all_objects.get(pk=customer.pk).name == "Acme"


# --- ownership ---------------------------------------------------------------------------


def test_rep_cannot_create_a_record_for_another_owner(rep: Any, teammate: Any) -> None:
    with pytest.raises(ValidationError) as raised:
        services.record_create(CUSTOMER, ctx=ctx(rep), data={"name": "Acme", "owner": teammate})

    assert "owner" in raised.value.message_dict
    assert not Customer.all_objects.exists()


def test_rep_cannot_give_a_record_to_another_user(rep: Any, teammate: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")

    with pytest.raises(ValidationError) as raised:
        services.record_update(CUSTOMER, ctx=ctx(rep), obj=customer, data={"owner": teammate})

    assert "owner" in raised.value.message_dict
    assert Customer.objects.get(pk=customer.pk).owner == rep


def test_rep_may_take_over_a_teammates_record(rep: Any, teammate: Any, make_customer: Any) -> None:
    customer = make_customer(teammate, name="Acme")

    services.record_update(CUSTOMER, ctx=ctx(rep), obj=customer, data={"owner": rep})

    assert Customer.objects.get(pk=customer.pk).owner == rep


def test_rep_cannot_move_a_record_to_another_team(rep: Any, south: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")

    with pytest.raises(ValidationError) as raised:
        services.record_update(CUSTOMER, ctx=ctx(rep), obj=customer, data={"team": south})

    assert "team" in raised.value.message_dict
    assert Customer.objects.get(pk=customer.pk).team_id == rep.team_id


def test_manager_reassigning_a_record_moves_it_to_the_new_owners_team(
    manager: Any, other_rep: Any, south: Any, make_customer: Any
) -> None:
    customer = make_customer(manager, name="Acme")

    services.record_update(CUSTOMER, ctx=ctx(manager), obj=customer, data={"owner": other_rep})

    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.owner, stored.team) == (other_rep, south)


def test_manager_can_put_a_record_in_an_explicit_team(
    manager: Any, rep: Any, shanghai: Any, make_customer: Any
) -> None:
    customer = make_customer(manager, name="Acme", owner=rep, team=shanghai)

    assert (customer.owner, customer.team) == (rep, shanghai)


def test_reassigning_a_customer_moves_its_contacts_along(
    manager: Any, rep: Any, other_rep: Any, south: Any, make_customer: Any, make_contact: Any
) -> None:
    customer = make_customer(manager, name="Acme", owner=rep)
    contact = make_contact(manager, customer)

    services.record_update(CUSTOMER, ctx=ctx(manager), obj=customer, data={"owner": other_rep})

    contact.refresh_from_db()
    assert (contact.owner, contact.team) == (other_rep, south)


def test_inactive_user_cannot_be_made_owner(manager: Any, rep: Any, make_customer: Any) -> None:
    rep.is_active = False
    rep.save()

    with pytest.raises(ValidationError) as raised:
        make_customer(manager, name="Acme", owner=rep)

    assert "owner" in raised.value.message_dict


# --- delete and restore ------------------------------------------------------------------


def test_delete_is_soft_and_hides_the_record(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")

    services.record_delete(CUSTOMER, ctx=ctx(rep), obj=customer, version=1)

    assert not Customer.objects.filter(pk=customer.pk).exists()
    stored = Customer.all_objects.get(pk=customer.pk)
    assert stored.deleted_at is not None
    assert stored.deleted_by == rep
    assert stored.version == 2
    assert stored.is_deleted


def test_delete_with_a_stale_version_raises_and_keeps_the_record(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")
    services.record_update(CUSTOMER, ctx=ctx(rep), obj=customer, data={"name": "Acme Ltd"})

    with pytest.raises(StaleVersion):
        services.record_delete(CUSTOMER, ctx=ctx(rep), obj=customer, version=1)

    assert Customer.objects.filter(pk=customer.pk).exists()


def test_deleting_a_customer_trashes_its_contacts_and_restore_brings_back_only_those(
    rep: Any, make_customer: Any, make_contact: Any
) -> None:
    customer = make_customer(rep, name="Acme")
    kept = make_contact(rep, customer, name="Kept")
    deleted_earlier = make_contact(rep, customer, name="Deleted earlier")
    services.record_delete(CONTACT, ctx=ctx(rep), obj=deleted_earlier)

    services.record_delete(CUSTOMER, ctx=ctx(rep), obj=customer)
    assert not Contact.objects.filter(customer_id=customer.pk).exists()

    services.record_restore(CUSTOMER, ctx=ctx(rep), obj=Customer.all_objects.get(pk=customer.pk))

    assert Customer.objects.filter(pk=customer.pk).exists()
    assert list(Contact.objects.filter(customer_id=customer.pk)) == [kept]
    restored = Customer.objects.get(pk=customer.pk)
    assert (restored.deleted_at, restored.deleted_by, restored.version) == (None, None, 3)


def test_restore_of_a_live_record_changes_nothing(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")

    services.record_restore(CUSTOMER, ctx=ctx(rep), obj=customer)

    assert Customer.objects.get(pk=customer.pk).version == 1
    assert not AuditEntry.objects.filter(action="restore").exists()


def test_contact_cannot_be_restored_while_its_customer_is_in_the_trash(
    rep: Any, make_customer: Any, make_contact: Any
) -> None:
    customer = make_customer(rep, name="Acme")
    contact = make_contact(rep, customer, name="Li Lei")
    services.record_delete(CONTACT, ctx=ctx(rep), obj=contact)
    services.record_delete(CUSTOMER, ctx=ctx(rep), obj=Customer.objects.get(pk=customer.pk))

    with pytest.raises(ValidationError) as refused:
        services.record_restore(CONTACT, ctx=ctx(rep), obj=Contact.all_objects.get(pk=contact.pk))

    assert "customer" in refused.value.message_dict
    assert "restore it first" in refused.value.message_dict["customer"][0]
    assert Contact.all_objects.get(pk=contact.pk).is_deleted
    assert not AuditEntry.objects.filter(action="restore").exists()


# --- bulk update -------------------------------------------------------------------------


def test_bulk_update_changes_visible_records_and_skips_unchanged_ones(
    rep: Any, teammate: Any, make_customer: Any
) -> None:
    mine = make_customer(rep, name="Mine")
    team = make_customer(teammate, name="Team")
    already = make_customer(rep, name="Already", industry="Steel")

    count = services.record_bulk_update(CUSTOMER, ctx=ctx(rep), objs=[mine, team, already], data={"industry": "Steel"})

    assert count == 2
    stored = {c.name: (c.industry, c.version, c.updated_by) for c in Customer.objects.all()}
    assert stored == {
        "Mine": ("Steel", 2, rep),
        "Team": ("Steel", 2, rep),
        "Already": ("Steel", 1, rep),
    }
    assert AuditEntry.objects.filter(action="update").count() == 2


def test_bulk_update_only_touches_records_the_actor_may_see(
    rep: Any, other_rep: Any, make_customer: Any, published: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    mine = make_customer(rep, name="Mine")
    theirs = make_customer(other_rep, name="Theirs")

    with django_capture_on_commit_callbacks(execute=True):
        count = services.record_bulk_update(CUSTOMER, ctx=ctx(rep), objs=[mine, theirs], data={"industry": "Steel"})

    assert count == 1
    assert Customer.objects.get(pk=mine.pk).industry == "Steel"
    stored = Customer.objects.get(pk=theirs.pk)
    assert (stored.industry, stored.version) == ("", 1)
    assert [e.record_id for e in published] == [mine.pk]


def test_bulk_update_refuses_fields_not_editable_in_bulk(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")

    with pytest.raises(ValidationError) as raised:
        services.record_bulk_update(CUSTOMER, ctx=ctx(rep), objs=[customer], data={"name": "Same for all"})

    assert "name" in raised.value.message_dict
    assert Customer.objects.get(pk=customer.pk).name == "Acme"


def test_bulk_update_writes_nothing_when_any_record_is_invalid(rep: Any, make_customer: Any) -> None:
    good = make_customer(rep, name="Good")
    bad = make_customer(rep, name="Bad")
    Customer.all_objects.filter(pk=bad.pk).update(email="broken")  # legacy data that no longer validates
    bad.refresh_from_db()

    with pytest.raises(ValidationError) as raised:
        services.record_bulk_update(CUSTOMER, ctx=ctx(rep), objs=[good, bad], data={"industry": "Steel"})

    assert bad.number in raised.value.messages[0]
    assert not Customer.objects.filter(industry="Steel").exists()
    assert not AuditEntry.objects.filter(action="update").exists()


def test_rep_cannot_bulk_reassign_records_to_another_user(rep: Any, teammate: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")

    with pytest.raises(ValidationError):
        services.record_bulk_update(CUSTOMER, ctx=ctx(rep), objs=[customer], data={"owner": teammate})

    assert Customer.objects.get(pk=customer.pk).owner == rep


def test_bulk_reassigning_customers_moves_their_contacts_along(
    manager: Any, rep: Any, other_rep: Any, south: Any, make_customer: Any, make_contact: Any
) -> None:
    first = make_customer(manager, name="First", owner=rep)
    second = make_customer(manager, name="Second", owner=rep)
    contacts = [make_contact(manager, first), make_contact(manager, second)]

    count = services.record_bulk_update(CUSTOMER, ctx=ctx(manager), objs=[first, second], data={"owner": other_rep})

    assert count == 2
    for contact in contacts:
        contact.refresh_from_db()
        assert (contact.owner, contact.team) == (other_rep, south)


def test_read_only_user_cannot_bulk_update(reader: Any, rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")

    with pytest.raises(PermissionDenied):
        services.record_bulk_update(CUSTOMER, ctx=ctx(reader), objs=[customer], data={"industry": "Steel"})

    assert Customer.objects.get(pk=customer.pk).industry == ""


# --- bulk delete -------------------------------------------------------------------------


def test_bulk_delete_only_trashes_records_the_actor_may_see(
    rep: Any, teammate: Any, other_rep: Any, make_customer: Any
) -> None:
    mine = make_customer(rep, name="Mine")
    team = make_customer(teammate, name="Team")
    theirs = make_customer(other_rep, name="Theirs")

    count = services.record_bulk_delete(CUSTOMER, ctx=ctx(rep), objs=[mine, team, theirs])

    assert count == 2
    assert list(Customer.objects.all()) == [theirs]
    assert AuditEntry.objects.filter(action="delete").count() == 2


def test_bulk_delete_skips_records_already_in_the_trash(rep: Any, make_customer: Any) -> None:
    trashed = make_customer(rep, name="Trashed")
    services.record_delete(CUSTOMER, ctx=ctx(rep), obj=trashed)
    live = make_customer(rep, name="Live")

    count = services.record_bulk_delete(CUSTOMER, ctx=ctx(rep), objs=[trashed, live])

    assert count == 1
    assert AuditEntry.objects.filter(action="delete", object_id=trashed.pk).count() == 1
