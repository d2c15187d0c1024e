"""Many-to-many fields through the generic write path (services, forms, audit), shown with a
record type that has them: an interaction's contacts and participants."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from kehu.activities.forms import InteractionForm
from kehu.activities.records import INTERACTION
from kehu.platform import services as record_services
from kehu.platform.context import Context, Source
from kehu.platform.errors import StaleVersion
from kehu.platform.models import AuditAction, AuditEntry

pytestmark = pytest.mark.django_db(transaction=True)


def ctx(user: Any) -> Context:
    return Context(user=user, source=Source.WEB)


@pytest.fixture
def customer(rep: Any, make_customer: Any) -> Any:
    return make_customer(rep, name="Acme")


@pytest.fixture
def people(rep: Any, customer: Any, make_contact: Any) -> list[Any]:
    return [make_contact(rep, customer, name=name) for name in ("Zhou", "an Li", "Bo")]


def create(user: Any, customer: Any, **data: Any) -> Any:
    return record_services.record_create(
        INTERACTION, ctx=ctx(user), data={"customer": customer, "subject": "Call", **data}
    )


def test_create_sets_related_records_from_ids_or_instances(rep: Any, customer: Any, people: list[Any]) -> None:
    obj = create(rep, customer, contacts=[people[0].pk, people[1]], participants=[rep.pk])
    assert {c.pk for c in obj.contacts.all()} == {people[0].pk, people[1].pk}
    assert list(obj.participants.all()) == [rep]


def test_create_audits_the_sorted_labels(rep: Any, customer: Any, people: list[Any]) -> None:
    obj = create(rep, customer, contacts=[p.pk for p in people])
    entry = AuditEntry.objects.get(action=AuditAction.CREATE, object_id=obj.pk, object_repr=str(obj))
    labels = entry.changes["contacts"][1]
    assert labels == sorted((str(p) for p in people), key=lambda name: (name.casefold(), name))


def test_update_of_only_a_many_to_many_field_bumps_the_version_audits_and_publishes(
    rep: Any, customer: Any, people: list[Any], published: list[Any]
) -> None:
    obj = create(rep, customer, contacts=[people[0].pk])
    record_services.record_update(INTERACTION, ctx=ctx(rep), obj=obj, data={"contacts": [people[2].pk]})
    seen = [event for event in published if event.type == "record.updated"]
    assert obj.version == 2
    assert list(obj.contacts.all()) == [people[2]]
    entry = AuditEntry.objects.filter(action=AuditAction.UPDATE, object_id=obj.pk).latest("id")
    assert entry.changes == {"contacts": [[str(people[0])], [str(people[2])]]}
    assert any(event.record_type == "interaction" and event.data["changed"] == ["contacts"] for event in seen)


def test_same_values_again_changes_nothing(rep: Any, customer: Any, people: list[Any]) -> None:
    obj = create(rep, customer, contacts=[people[0].pk])
    record_services.record_update(INTERACTION, ctx=ctx(rep), obj=obj, data={"contacts": [people[0].pk]})
    assert obj.version == 1


def test_an_empty_list_or_none_clears(rep: Any, customer: Any, people: list[Any]) -> None:
    obj = create(rep, customer, contacts=[people[0].pk], participants=[rep.pk])
    record_services.record_update(INTERACTION, ctx=ctx(rep), obj=obj, data={"contacts": [], "participants": None})
    assert not obj.contacts.exists()
    assert not obj.participants.exists()


def test_records_the_caller_cannot_see_are_refused_by_id(
    rep: Any, other_rep: Any, customer: Any, make_customer: Any, make_contact: Any
) -> None:
    hidden = make_contact(other_rep, make_customer(other_rep, name="South"), name="Hidden")
    with pytest.raises(ValidationError) as caught:
        create(rep, customer, contacts=[hidden.pk, 999999])
    message = caught.value.message_dict["contacts"][0]
    assert str(hidden.pk) in message
    assert "999999" in message


def test_inactive_users_are_refused(rep: Any, customer: Any, make_user: Any) -> None:
    gone = make_user("gone", "sales", "East sales")
    gone.is_active = False
    gone.save()
    with pytest.raises(ValidationError) as caught:
        create(rep, customer, participants=[gone.pk])
    assert "participants" in caught.value.message_dict


@pytest.mark.parametrize("value", [[{"id": 1}], [1.5], [True]])
def test_values_that_are_not_ids_are_refused(rep: Any, customer: Any, value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        create(rep, customer, contacts=value)
    assert "contacts" in caught.value.message_dict


def test_a_stale_update_leaves_the_related_records(rep: Any, customer: Any, people: list[Any]) -> None:
    obj = create(rep, customer, contacts=[people[0].pk])
    with pytest.raises(StaleVersion):
        record_services.record_update(INTERACTION, ctx=ctx(rep), obj=obj, data={"contacts": [people[1].pk]}, version=5)
    assert list(obj.contacts.all()) == [people[0]]


def test_m2m_values_sees_pending_values_before_saving(rep: Any, customer: Any, people: list[Any]) -> None:
    obj = create(rep, customer, contacts=[people[0].pk])
    assert record_services.m2m_values(obj, "contacts") == [people[0]]
    obj._kehu_m2m = {"contacts": [people[1]]}
    assert record_services.m2m_values(obj, "contacts") == [people[1]]


def test_form_offers_only_visible_records_in_a_multiple_select(
    rep: Any, other_rep: Any, customer: Any, people: list[Any], make_customer: Any, make_contact: Any, make_user: Any
) -> None:
    hidden = make_contact(other_rep, make_customer(other_rep, name="South"), name="Hidden")
    gone = make_user("gone", "sales", "East sales")
    gone.is_active = False
    gone.save()
    form = InteractionForm(ctx=ctx(rep))
    contacts = set(form.fields["contacts"].queryset.values_list("pk", flat=True))
    assert {p.pk for p in people} <= contacts
    assert hidden.pk not in contacts
    assert gone.pk not in set(form.fields["participants"].queryset.values_list("pk", flat=True))
    assert form.fields["contacts"].widget.allow_multiple_selected


def test_form_data_reaches_the_service(rep: Any, customer: Any, people: list[Any]) -> None:
    form = InteractionForm(
        {
            "customer": customer.pk,
            "kind": "call",
            "subject": "Hi",
            "occurred_at": "2026-03-01T10:00",
            "contacts": [people[0].pk, people[1].pk],
        },
        ctx=ctx(rep),
    )
    assert form.is_valid(), form.errors
    obj = record_services.record_create(INTERACTION, ctx=ctx(rep), data=form.service_data())
    assert obj.contacts.count() == 2
