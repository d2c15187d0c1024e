"""The audit log (platform/audit.py, AuditEntry): one entry per change with who, from where and
the field diff; append-only in the ORM and in the database; logins and failed logins."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.models import AnonymousUser
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.db import SessionStore
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory

from kehu.accounts.services import token_create, user_create
from kehu.customers.models import Customer
from kehu.customers.records import CUSTOMER
from kehu.platform import audit as audit_log
from kehu.platform import services
from kehu.platform.context import Context, Source
from kehu.platform.models import AuditEntry

pytestmark = pytest.mark.django_db


def entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action))


def ref(obj: Any) -> dict[str, Any]:
    return {"id": obj.pk, "repr": str(obj)}


def test_create_writes_one_entry_with_actor_source_address_and_initial_values(rep: Any, east: Any) -> None:
    ctx = Context(user=rep, source=Source.IMPORT, ip="203.0.113.7")

    customer = services.record_create(CUSTOMER, ctx=ctx, data={"name": "Acme", "phone": "138 1234 5678"})

    [entry] = entries("create")
    assert entry.actor == rep
    assert entry.actor_label == "rep"
    assert entry.source == "import"
    assert entry.ip == "203.0.113.7"
    assert entry.content_type == ContentType.objects.get_for_model(Customer)
    assert entry.object_id == customer.pk
    assert entry.object_repr == f"{customer.number} Acme"
    assert entry.changes["phone"][1].startswith("enc1$")  # personal data only encrypted in the log
    assert audit_log.opened_changes(entry) == {
        "kind": [None, "company"],
        "name": [None, "Acme"],
        "stage": [None, {"id": "lead", "repr": "Lead"}],  # the initial lifecycle stage
        "grade_source": [None, "manual"],
        "phone": [None, "+8613812345678"],
        "owner": [None, ref(rep)],
        "team": [None, ref(east)],
    }


@pytest.mark.parametrize("source", [Source.WEB, Source.API, Source.IMPORT, Source.AUTOMATION, Source.CLI])
def test_entry_records_where_the_change_came_from(rep: Any, make_customer: Any, source: str) -> None:
    customer = make_customer(rep, name="Acme")

    services.record_update(
        CUSTOMER, ctx=Context(user=rep, source=source, ip="2001:db8::1"), obj=customer, data={"name": "Acme Ltd"}
    )

    [entry] = entries("update")
    assert (entry.source, entry.ip) == (source, "2001:db8::1")


def test_update_entry_holds_only_the_changed_fields(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme", city="Shanghai", industry="Steel")

    services.record_update(
        CUSTOMER, ctx=Context(user=rep), obj=customer, data={"name": "Acme Ltd", "city": "Shanghai", "industry": ""}
    )

    [entry] = entries("update")
    assert entry.changes == {"name": ["Acme", "Acme Ltd"], "industry": ["Steel", ""]}
    assert entry.object_repr == f"{customer.number} Acme Ltd"


def test_reassignment_entry_shows_old_and_new_owner_and_team(
    manager: Any, rep: Any, other_rep: Any, east: Any, south: Any, make_customer: Any
) -> None:
    customer = make_customer(manager, name="Acme", owner=rep)

    services.record_update(CUSTOMER, ctx=Context(user=manager), obj=customer, data={"owner": other_rep})

    [entry] = entries("update")
    assert entry.actor == manager
    assert entry.changes == {"owner": [ref(rep), ref(other_rep)], "team": [ref(east), ref(south)]}


def test_delete_and_restore_write_one_entry_each_for_the_record_and_its_children(
    rep: Any, make_customer: Any, make_contact: Any
) -> None:
    customer = make_customer(rep, name="Acme")
    contact = make_contact(rep, customer)
    ctx = Context(user=rep, source=Source.API, ip="192.0.2.10")

    services.record_delete(CUSTOMER, ctx=ctx, obj=customer)
    deleted_at = Customer.all_objects.get(pk=customer.pk).deleted_at.isoformat()
    services.record_restore(CUSTOMER, ctx=ctx, obj=Customer.all_objects.get(pk=customer.pk))

    deletes = {(e.content_type.model, e.object_id): e for e in entries("delete")}
    restores = {(e.content_type.model, e.object_id): e for e in entries("restore")}
    assert set(deletes) == set(restores) == {("customer", customer.pk), ("contact", contact.pk)}
    assert deletes["customer", customer.pk].changes == {"deleted_at": [None, deleted_at]}
    assert restores["customer", customer.pk].changes == {"deleted_at": [deleted_at, None]}
    assert deletes["contact", contact.pk].changes == {"deleted_at": [None, deleted_at]}
    for entry in [*deletes.values(), *restores.values()]:
        assert (entry.actor, entry.source, entry.ip) == (rep, "api", "192.0.2.10")


def test_history_lists_a_records_entries_newest_first(rep: Any, make_customer: Any, make_contact: Any) -> None:
    customer = make_customer(rep, name="Acme")
    make_contact(rep, customer)
    services.record_update(CUSTOMER, ctx=Context(user=rep), obj=customer, data={"name": "Acme Ltd"})
    services.record_delete(CUSTOMER, ctx=Context(user=rep), obj=customer)

    assert [e.action for e in audit_log.history_for(customer)] == ["delete", "update", "create"]


def test_entry_names_the_api_token_used(rep: Any, make_customer: Any) -> None:
    token, raw = token_create(ctx=Context(user=rep), user=rep, scopes=["customers:write"])
    customer = make_customer(rep, name="Acme")

    services.record_delete(CUSTOMER, ctx=Context(user=rep, source=Source.API, token=token), obj=customer)

    [entry] = entries("delete")
    assert entry.token == token.prefix
    assert raw not in json.dumps(AuditEntry.objects.filter(pk=entry.pk).values().get(), default=str)


def test_primary_contact_change_audits_the_demoted_contact(rep: Any, make_customer: Any, make_contact: Any) -> None:
    customer = make_customer(rep, name="Acme")
    first = make_contact(rep, customer, name="First", is_primary=True)

    second = make_contact(rep, customer, name="Second", is_primary=True)

    first.refresh_from_db()
    assert (first.is_primary, second.is_primary, first.version) == (False, True, 2)
    [entry] = entries("update")
    assert (entry.object_id, entry.changes) == (first.pk, {"is_primary": [True, False]})


# --- append-only -------------------------------------------------------------------------


@pytest.fixture
def entry(rep: Any, make_customer: Any) -> AuditEntry:
    make_customer(rep, name="Acme")
    return AuditEntry.objects.get(action="create")


def test_saving_a_changed_entry_through_the_orm_is_refused(entry: AuditEntry) -> None:
    entry.action = "delete"

    with pytest.raises(RuntimeError, match="append-only"):
        entry.save()

    assert AuditEntry.objects.get(pk=entry.pk).action == "create"


def test_updating_entries_through_a_queryset_is_refused(entry: AuditEntry) -> None:
    with pytest.raises(RuntimeError, match="append-only"):
        AuditEntry.objects.filter(pk=entry.pk).update(action="delete")

    assert AuditEntry.objects.get(pk=entry.pk).action == "create"


def test_deleting_entries_through_the_orm_is_refused(entry: AuditEntry) -> None:
    with pytest.raises(RuntimeError, match="append-only"):
        entry.delete()
    with pytest.raises(RuntimeError, match="append-only"):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(RuntimeError, match="append-only"):
        AuditEntry.objects.all().delete()

    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_updating_an_entry_with_raw_sql_is_refused_by_the_database(entry: AuditEntry) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE platform_auditentry SET action = %s WHERE id = %s", ["delete", entry.pk])

    assert AuditEntry.objects.get(pk=entry.pk).action == "create"


def test_updating_an_entry_behind_the_default_manager_is_refused(entry: AuditEntry) -> None:
    with pytest.raises(RuntimeError, match="append-only"), transaction.atomic():
        AuditEntry._base_manager.filter(pk=entry.pk).update(changes={})

    assert AuditEntry.objects.get(pk=entry.pk).changes["name"] == [None, "Acme"]


def test_deleting_entries_behind_the_default_manager_is_refused(entry: AuditEntry) -> None:
    with pytest.raises(RuntimeError, match="append-only"):
        AuditEntry._base_manager.filter(pk=entry.pk).delete()

    assert AuditEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no TRUNCATE; Django empties its tables with DELETE"
)
def test_deleting_an_entry_with_raw_sql_is_refused_by_postgresql(entry: AuditEntry) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM platform_auditentry WHERE id = %s", [entry.pk])

    assert AuditEntry.objects.filter(pk=entry.pk).exists()


# --- logins ------------------------------------------------------------------------------


@pytest.fixture
def person(db: Any) -> Any:
    return user_create(username="wang", password="Audit-login-pass-2026", role="sales")


def request_from(address: str, path: str = "/accounts/login/") -> Any:
    request = RequestFactory().post(path, REMOTE_ADDR=address)
    request.session = SessionStore()
    request.user = AnonymousUser()
    return request


def test_failed_login_records_the_attempted_name_and_address_but_never_the_password(person: Any) -> None:
    assert authenticate(request_from("198.51.100.4"), username="wang", password="Wrong-secret-77") is None

    [entry] = entries("login_failed")
    assert entry.actor is None
    assert entry.ip == "198.51.100.4"
    assert entry.source == "web"
    assert entry.extra == {"login": "wang"}
    assert "Wrong-secret-77" not in json.dumps(AuditEntry.objects.filter(pk=entry.pk).values().get(), default=str)


def test_failed_login_for_an_unknown_name_is_recorded(db: Any) -> None:
    assert authenticate(request_from("198.51.100.5"), username="nobody", password="Whatever-123") is None

    [entry] = entries("login_failed")
    assert (entry.actor, entry.extra) == (None, {"login": "nobody"})


def test_login_and_logout_are_recorded_with_the_user_and_address(person: Any) -> None:
    request = request_from("198.51.100.6")
    user = authenticate(request, username="wang", password="Audit-login-pass-2026")
    assert user == person

    login(request, user)
    logout(request)

    [signed_in] = entries("login")
    [signed_out] = entries("logout")
    assert (signed_in.actor, signed_in.ip, signed_in.source) == (person, "198.51.100.6", "web")
    assert (signed_out.actor, signed_out.ip) == (person, "198.51.100.6")
    assert not entries("login_failed")


def test_login_through_the_api_path_is_recorded_as_api(person: Any) -> None:
    request = request_from("198.51.100.7", path="/api/v1/customers/")

    login(request, person, backend="kehu.accounts.backends.RoleBackend")

    [entry] = entries("login")
    assert entry.source == "api"


def test_bulk_create_entries_name_each_records_own_related_records(
    admin_user: Any, rep: Any, other_rep: Any, east: Any, south: Any
) -> None:
    ctx = Context(user=admin_user, source=Source.IMPORT)
    data = [
        {"name": "甲", "owner": rep.pk},
        {"name": "乙", "owner": other_rep.pk, "stage": "prospect"},
        {"name": "丙", "owner": rep.pk},
    ]

    created = services.record_bulk_create(CUSTOMER, ctx=ctx, objs_or_data=data)

    changes = {
        entry.object_id: entry.changes for entry in AuditEntry.objects.filter(action="create", object_id__isnull=False)
    }
    assert [changes[obj.pk]["owner"][1] for obj in created] == [ref(rep), ref(other_rep), ref(rep)]
    assert [changes[obj.pk]["team"][1] for obj in created] == [ref(east), ref(south), ref(east)]
    assert [changes[obj.pk]["stage"][1]["repr"] for obj in created] == ["Lead", "Prospect", "Lead"]
