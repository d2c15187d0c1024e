"""Every write through the API leaves an audit entry naming the API, the actor and the change."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.test import Client

from kehu.customers.models import Customer
from kehu.platform import audit as audit_log
from kehu.platform.models import AuditAction, AuditEntry
from tests.api.support import ApiClient


def _entries(resource: Any, pk: int) -> Any:
    content_type = ContentType.objects.get_for_model(resource.model)
    return AuditEntry.objects.filter(content_type=content_type, object_id=pk).order_by("id")


def test_api_create_writes_an_audit_entry_with_source_api_and_the_actor(
    rep: Any, issue_token: Any, resource: Any
) -> None:
    token, raw = issue_token(rep)
    body = ApiClient(raw).post(resource.url(), resource.payload(rep, name="Audited", email="a@acme.example")).json()

    [entry] = _entries(resource, body["id"])
    assert entry.action == AuditAction.CREATE
    assert entry.source == "api"
    assert entry.actor_id == rep.pk
    assert entry.actor_label == "rep"
    assert entry.token == token.prefix
    assert entry.ip == "127.0.0.1"
    assert entry.object_repr == f"{body['number']} Audited"
    assert entry.changes["name"] == [None, "Audited"]
    assert audit_log.opened_changes(entry)["email"] == [None, "a@acme.example"]


def test_api_patch_writes_an_audit_entry_with_before_and_after_values(rep: Any, api_as: Any, resource: Any) -> None:
    record = resource.make(rep, name="Before", email="same@acme.example", phone="13800138000")

    api_as(rep).patch(resource.url(record.pk), {"name": "After", "email": "same@acme.example", "phone": ""})

    entry = _entries(resource, record.pk).last()
    assert entry.action == AuditAction.UPDATE
    assert (entry.source, entry.actor_id) == ("api", rep.pk)
    assert audit_log.opened_changes(entry) == {"name": ["Before", "After"], "phone": ["+8613800138000", ""]}


def test_api_patch_that_changes_nothing_writes_no_entry_and_keeps_the_version(
    rep: Any, api_as: Any, resource: Any
) -> None:
    record = resource.make(rep, name="Same")
    count = _entries(resource, record.pk).count()

    response = api_as(rep).patch(resource.url(record.pk), {"name": "Same"})

    assert response.json()["version"] == record.version
    assert _entries(resource, record.pk).count() == count


def test_api_delete_writes_an_audit_entry_with_source_api(rep: Any, api_as: Any, resource: Any) -> None:
    record = resource.make(rep, name="Gone")

    api_as(rep).delete(resource.url(record.pk))

    entry = _entries(resource, record.pk).last()
    assert entry.action == AuditAction.DELETE
    assert (entry.source, entry.actor_id) == ("api", rep.pk)
    assert entry.changes["deleted_at"][0] is None
    assert entry.changes["deleted_at"][1] == resource.row(record.pk).deleted_at.isoformat()


def test_api_delete_of_a_customer_audits_its_contacts_too(
    rep: Any, api_as: Any, make_customer: Any, make_contact: Any
) -> None:
    customer = make_customer(rep)
    contact = make_contact(rep, customer)

    api_as(rep).delete(f"/customers/{customer.pk}/")

    contact_type = ContentType.objects.get_for_model(contact)
    entry = AuditEntry.objects.get(content_type=contact_type, object_id=contact.pk, action=AuditAction.DELETE)
    assert (entry.source, entry.actor_id) == ("api", rep.pk)


def test_session_write_is_audited_as_api(rep: Any) -> None:
    client = Client()  # the CSRF check is covered in test_auth; here only the audit source matters
    client.force_login(rep)

    response = client.post("/api/v1/customers/", {"name": "Via session"}, content_type="application/json")

    assert response.status_code == 201, response.content
    entry = AuditEntry.objects.get(object_id=response.json()["id"], action=AuditAction.CREATE)
    assert (entry.source, entry.actor_id, entry.token) == ("api", rep.pk, "")
    assert Customer.objects.filter(name="Via session").exists()
