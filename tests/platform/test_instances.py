"""``platform.instances``: instances made without ``Model.__init__`` are the ones it makes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.db.models.signals import post_init

from kehu.customers.models import Customer, LifecycleTransition
from kehu.platform.instances import loaded, unsaved
from kehu.platform.models import AuditEntry

pytestmark = pytest.mark.django_db


def _fields(obj: Any) -> dict[str, Any]:
    """The instance's field values, a moment (a callable default: now) as its type."""
    values = {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}
    return {name: type(value) if isinstance(value, datetime) else value for name, value in values.items()}


def test_unsaved_customer_holds_every_default_model_init_sets() -> None:
    made, expected = unsaved(Customer), Customer()
    assert _fields(made) == _fields(expected)
    assert made._state.adding
    assert made._state.db is None
    assert made.pk is None


def test_unsaved_calls_callable_defaults_for_each_instance() -> None:
    first, second = unsaved(AuditEntry), unsaved(AuditEntry)
    assert first.changes == {}
    assert first.changes is not second.changes
    assert first.at is not None
    assert first.at <= second.at


def test_unsaved_caches_a_related_instance_given_by_field_name(rep: Any) -> None:
    entry = unsaved(AuditEntry, actor=rep, action="create", changes={"name": [None, "甲"]})
    assert entry.actor_id == rep.pk
    assert entry.actor is rep  # cached like __init__ does: no query
    assert entry.changes == {"name": [None, "甲"]}


def test_unsaved_takes_ids_by_attname_and_saves(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep)
    transition = unsaved(LifecycleTransition, customer_id=customer.pk, to_stage_id="lead", actor_id=rep.pk)
    transition.save()
    stored = LifecycleTransition.objects.get(pk=transition.pk)
    assert (stored.customer_id, stored.to_stage_id, stored.actor_id, stored.from_stage_id) == (
        customer.pk,
        "lead",
        rep.pk,
        None,
    )
    assert stored.source == "web"  # the field's default


def test_unsaved_refuses_a_name_that_is_no_field() -> None:
    with pytest.raises(TypeError, match="nickname"):
        unsaved(Customer, nickname="x")


def test_unsaved_and_loaded_go_through_init_when_a_model_has_init_receivers() -> None:
    seen: list[Any] = []

    def receiver(sender: Any, instance: Any, **kwargs: Any) -> None:
        seen.append(instance)

    post_init.connect(receiver, sender=Customer)
    try:
        made = unsaved(Customer, name="甲")
        read = loaded(Customer, {"id": 7, "name": "乙"})
    finally:
        post_init.disconnect(receiver, sender=Customer)
    assert seen == [made, read]
    assert read.name == "乙"
    assert not read._state.adding


def test_loaded_is_what_from_db_makes_of_the_values(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep)
    values = Customer.objects.filter(pk=customer.pk).values("id", "name", "stage_id").get()
    obj = loaded(Customer, values)
    assert (obj.pk, obj.name, obj.stage_id) == (customer.pk, customer.name, customer.stage_id)
    assert not obj._state.adding
    assert obj._state.db == "default"
    assert obj.get_deferred_fields() == Customer.objects.only("id", "name", "stage").get().get_deferred_fields()


def test_unsaved_refuses_a_related_instance_of_another_model_as_init_does(rep: Any) -> None:
    with pytest.raises(ValueError, match="must be a"):
        unsaved(AuditEntry, content_type=rep)
    with pytest.raises(ValueError, match="must be a"):
        AuditEntry(content_type=rep)


def test_unsaved_takes_none_for_a_related_instance(rep: Any) -> None:
    entry = unsaved(AuditEntry, actor=None, action="create")
    assert entry.actor_id is None
    assert entry.actor is None
