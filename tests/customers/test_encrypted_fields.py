"""Customers' and contacts' phones and emails are encrypted at rest (platform/fields.py
EncryptedField): nothing of them is in the database in plain text — not in the records, the
audit log, stored API answers or saved views — yet users who may see the records read them,
and filters, search and lookups find them in any format through the blind index."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import phonenumbers
import pytest
from django.apps import apps as global_apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldError, ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.migrations import RunPython
from django.http import QueryDict
from django.test import Client

from kehu.customers.models import Customer
from kehu.customers.records import CONTACT, CUSTOMER
from kehu.platform import audit as audit_log
from kehu.platform import crypto, selectors, services
from kehu.platform.context import Context, Source
from kehu.platform.fields import encrypted_lookup_q, lookup_q
from kehu.platform.models import AuditAction, AuditEntry, IdempotencyKey, SavedView
from kehu.platform.phones import normalize_phone
from kehu.platform.rekey import migration_operations
from tests.api.support import ApiClient, assert_problem, error_fields

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def ctx(user: Any) -> Context:
    return Context(user=user, source=Source.CLI)


def raw(model: Any, pk: int, *columns: str) -> tuple[Any, ...]:
    """Columns of one row as stored, without the field's decryption."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(model._meta.db_table)} WHERE id = %s", [pk]
        )
        return tuple(cursor.fetchone())


# ---------------------------------------------------------------- nothing in plain text


def phone_forms(written: str) -> set[str]:
    """Every way a phone number could show up in the database."""
    e164 = normalize_phone(written)
    parsed = phonenumbers.parse(e164)
    national = str(parsed.national_number)
    formats = [phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.INTERNATIONAL]
    return {
        written,
        e164,
        e164.lstrip("+"),
        national,
        "0" + national,
        *(phonenumbers.format_number(parsed, f) for f in formats),
    }


def database_text() -> bytes:
    """The whole database as stored: the SQLite file and its write-ahead log after a checkpoint,
    or every row of every PostgreSQL table as text."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            path = Path(connection.settings_dict["NAME"])
            wal = Path(f"{path}-wal")
            return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
        quote = connection.ops.quote_name
        chunks = []
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT t::text FROM {quote(table)} t")
            chunks.extend(row[0] for row in cursor.fetchall())
        return "\n".join(chunks).encode()


@pytest.mark.django_db(transaction=True)
def test_no_phone_or_email_is_in_the_database_in_plain_text(
    rep: Any, admin_user: Any, issue_token: Any, make_customer: Any, make_contact: Any
) -> None:
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"] in ("", ":memory:"):
        pytest.skip("needs a database file")
    phones = ["139 8765 4321", "+86 139-1111-2222", "13722223333", "021 6234 5678", "+1 650 253 0000", "13655556666"]
    emails = ["Zhang.Wei@Example-Secret.COM", "LI.Lei@Acme-Secret.CN", "wang.fang@hidden-mail.example"]
    _token, secret = issue_token(rep)
    api = ApiClient(secret)
    # through the API, with an idempotent retry that replays the stored answer
    created = api.post(
        "/customers/",
        {"name": "Zhang Trading", "phone": phones[0], "email": emails[0]},
        **{"Idempotency-Key": "first-try"},
    )
    replayed = api.post(
        "/customers/",
        {"name": "Zhang Trading", "phone": phones[0], "email": emails[0]},
        **{"Idempotency-Key": "first-try"},
    )
    assert created.status_code == replayed.status_code == 201
    assert replayed["Idempotent-Replayed"] == "true"
    assert replayed.json()["phone"] == "+8613987654321"
    customer_id = created.json()["id"]
    contact = api.post(
        "/contacts/",
        {"customer": customer_id, "name": "Li Lei", "mobile": phones[2], "phone": phones[3], "email": emails[1]},
    )
    assert contact.status_code == 201, contact.content
    # an update, so that the audit log has a before and an after
    patched = api.patch(f"/customers/{customer_id}/", {"phone": phones[1]})
    assert patched.json()["phone"] == "+8613911112222"
    # through the services
    other = make_customer(rep, name="Wang Imports", phone=phones[4], email=emails[2])
    make_contact(rep, other, name="Wang Fang", mobile=phones[5])
    # a saved view and an export filtered by a phone number; the list filtered by an email
    web = logged_in(rep)
    saved = web.post("/customers/views/", {"name": "By phone", "query": f"phone={phones[1]}&q={emails[0]}"})
    assert saved.status_code == 302
    b"".join(web.get("/customers/export.csv", {"phone": phones[1]}).streaming_content)
    assert "Zhang Trading" in web.get("/customers/", {"email": emails[0]}).content.decode()
    assert AuditEntry.objects.filter(action=AuditAction.UPDATE).exists()
    assert IdempotencyKey.objects.exists()

    stored = database_text().lower()

    assert b"zhang trading" in stored  # the check reads the real rows
    for written in phones:
        for form in phone_forms(written):
            assert form.lower().encode() not in stored, f"{form} (from {written}) is in the database"
    for email in emails:
        assert email.lower().encode() not in stored, f"{email} is in the database"


def test_stored_columns_hold_tokens_and_blind_indexes(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme", phone="138 1234 5678", email="Info@Acme.Example")

    phone, phone_index, email, email_index = raw(Customer, customer.pk, "phone", "phone_bidx", "email", "email_bidx")

    assert crypto.is_token(phone)
    assert crypto.is_token(email)
    assert phone_index == crypto.blind_index("phone", "+8613812345678")
    assert email_index == crypto.blind_index("email", "info@acme.example")
    assert (customer.phone, customer.email) == ("+8613812345678", "info@acme.example")


def test_empty_values_stay_empty_without_an_index(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")

    assert raw(Customer, customer.pk, "phone", "phone_bidx", "email", "email_bidx") == ("", "", "", "")
    assert Customer.objects.filter(phone="").count() == 1


def test_update_bulk_update_and_clearing_keep_the_index_in_step(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme", phone="138 1234 5678")

    services.record_update(CUSTOMER, ctx=ctx(rep), obj=customer, data={"phone": "139 8765 4321"})
    assert raw(Customer, customer.pk, "phone_bidx") == (crypto.blind_index("phone", "+8613987654321"),)

    services.record_update(CUSTOMER, ctx=ctx(rep), obj=customer, data={"phone": ""})
    assert raw(Customer, customer.pk, "phone", "phone_bidx") == ("", "")


def test_bulk_update_writes_the_index_of_encrypted_columns_it_writes(rep: Any, make_customer: Any) -> None:
    from kehu.platform.records import RecordType

    first = make_customer(rep, name="One", phone="138 1234 5678")
    second = make_customer(rep, name="Two", email="two@acme.example")
    phone_bulk = RecordType(**{**vars(CUSTOMER), "key": "customer_bulk_phone", "bulk_fields": ["phone"]})

    changed = services.record_bulk_update(phone_bulk, ctx=ctx(rep), objs=[first, second], data={"phone": "13722223333"})

    assert changed == 2
    index = crypto.blind_index("phone", "+8613722223333")
    assert [raw(Customer, pk, "phone_bidx")[0] for pk in (first.pk, second.pk)] == [index, index]
    assert Customer.objects.filter(lookup_q(Customer, "phone", "137 2222 3333")).count() == 2


def test_encrypted_fields_cannot_be_compared_in_sql(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Acme", phone="138 1234 5678")

    with pytest.raises(FieldError, match="encrypted"):
        list(Customer.objects.filter(phone="+8613812345678"))
    with pytest.raises(FieldError):
        list(Customer.objects.filter(phone__icontains="1381234"))


def test_invalid_phone_and_email_are_refused_with_the_field_named(rep: Any) -> None:
    for data, field in [({"phone": "12"}, "phone"), ({"email": "not-an-email"}, "email")]:
        with pytest.raises(ValidationError) as raised:
            services.record_create(CUSTOMER, ctx=ctx(rep), data={"name": "Bad", **data})
        assert field in raised.value.message_dict
    assert not Customer.all_objects.exists()


def test_a_token_swapped_into_another_field_does_not_decrypt(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme", phone="138 1234 5678", email="info@acme.example")
    (phone_token,) = raw(Customer, customer.pk, "phone")
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(Customer._meta.db_table)} SET email = %s WHERE id = %s", [phone_token, customer.pk]
        )

    with pytest.raises(crypto.DecryptionError):
        Customer.objects.get(pk=customer.pk)


# ---------------------------------------------------------------- reading


def test_api_returns_the_decrypted_values_to_an_allowed_user(
    rep: Any, issue_token: Any, make_customer: Any, make_contact: Any
) -> None:
    customer = make_customer(rep, name="Acme", phone="138 1234 5678", email="Info@Acme.Example")
    contact = make_contact(rep, customer, mobile="13722223333", email="li@acme.example")
    api = ApiClient(issue_token(rep, "read")[1])

    body = api.get(f"/customers/{customer.pk}/").json()
    listed = api.get("/contacts/").json()["items"]

    assert (body["phone"], body["email"]) == ("+8613812345678", "info@acme.example")
    assert [(c["id"], c["mobile"], c["email"]) for c in listed] == [(contact.pk, "+8613722223333", "li@acme.example")]


def test_detail_and_list_pages_show_the_values(rep: Any, make_customer: Any, make_contact: Any) -> None:
    customer = make_customer(rep, name="Acme", phone="138 1234 5678", email="info@acme.example")
    make_contact(rep, customer, name="Li Lei", mobile="13722223333")
    client = logged_in(rep)

    detail = client.get(f"/customers/{customer.pk}/").content.decode()
    detail += client.get(f"/customers/{customer.pk}/related/contacts/").content.decode()  # the contacts tab
    customers = client.get("/customers/").content.decode()
    contacts = client.get("/contacts/").content.decode()

    assert "138 1234 5678" in detail
    assert "info@acme.example" in detail
    assert "137 2222 3333" in detail  # the contacts tab
    assert "138 1234 5678" in customers
    assert "137 2222 3333" in contacts
    assert "enc1$" not in detail + customers + contacts


def test_edit_form_shows_the_values_and_saves_them_again(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme", phone="138 1234 5678", email="info@acme.example")
    client = logged_in(rep)

    form = client.get(f"/customers/{customer.pk}/edit/").content.decode()
    saved = client.post(
        f"/customers/{customer.pk}/edit/",
        {"kind": "company", "name": "Acme", "phone": "+86 139 8765 4321", "email": "NEW@Acme.Example", "version": 1},
    )

    assert 'value="+8613812345678"' in form
    assert saved.status_code == 302
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.phone, stored.email) == ("+8613987654321", "new@acme.example")
    assert Customer.objects.filter(lookup_q(Customer, "email", "new@acme.example")).get() == stored


def test_history_shows_before_and_after_decrypted(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme", phone="138 1234 5678")
    services.record_update(CUSTOMER, ctx=ctx(rep), obj=customer, data={"phone": "139 8765 4321"})
    [update] = AuditEntry.objects.filter(action=AuditAction.UPDATE)

    page = logged_in(rep).get(f"/customers/{customer.pk}/history/").content.decode()

    assert [crypto.is_token(value) for value in update.changes["phone"]] == [True, True]
    assert audit_log.opened_changes(update)["phone"] == ["+8613812345678", "+8613987654321"]
    assert "138 1234 5678" in page
    assert "139 8765 4321" in page


def test_an_audit_value_that_does_not_decrypt_shows_a_placeholder(
    rep: Any, admin_user: Any, make_customer: Any
) -> None:
    customer = make_customer(rep, name="Acme", phone="138 1234 5678")
    AuditEntry.objects.create(
        action=AuditAction.UPDATE,
        source=Source.CLI,
        content_type=ContentType.objects.get_for_model(Customer),
        object_id=customer.pk,
        object_repr=str(customer),
        changes={"phone": ["enc1$0badbeef$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "enc1$" + "x"]},
    )

    history = logged_in(rep).get(f"/customers/{customer.pk}/history/")
    audit_page = logged_in(admin_user).get("/audit/")

    assert history.status_code == audit_page.status_code == 200
    assert "(cannot be decrypted)" in history.content.decode()
    assert "(cannot be decrypted)" in audit_page.content.decode()


# ---------------------------------------------------------------- finding by the blind index


@pytest.mark.parametrize("written", ["138 1234 5678", "+8613812345678", "+86 138-1234-5678", "13812345678"])
def test_api_phone_filter_finds_the_customer_in_any_format(
    rep: Any, issue_token: Any, make_customer: Any, written: str
) -> None:
    wanted = make_customer(rep, name="Wanted", phone="138 1234 5678")
    make_customer(rep, name="Other", phone="139 8765 4321")

    body = ApiClient(issue_token(rep, "read")[1]).get("/customers/", {"phone": written}).json()

    assert [item["id"] for item in body["items"]] == [wanted.pk]


@pytest.mark.parametrize("written", ["UPPER@Example.com", "upper@example.com", " Upper@EXAMPLE.COM "])
def test_api_email_filter_ignores_case(rep: Any, issue_token: Any, make_customer: Any, written: str) -> None:
    wanted = make_customer(rep, name="Wanted", email="upper@example.com")
    make_customer(rep, name="Other", email="lower@example.com")

    body = ApiClient(issue_token(rep, "read")[1]).get("/customers/", {"email": written}).json()

    assert [item["id"] for item in body["items"]] == [wanted.pk]


def test_api_contact_filters_on_mobile_phone_and_email(
    rep: Any, issue_token: Any, make_customer: Any, make_contact: Any
) -> None:
    customer = make_customer(rep, name="Acme")
    li = make_contact(rep, customer, name="Li", mobile="13722223333", phone="021 6234 5678", email="li@acme.example")
    make_contact(rep, customer, name="Wang", mobile="13655556666")
    api = ApiClient(issue_token(rep, "read")[1])

    for params in [{"mobile": "137-2222-3333"}, {"phone": "+86 21 6234 5678"}, {"email": "LI@acme.example"}]:
        assert [item["id"] for item in api.get("/contacts/", params).json()["items"]] == [li.pk], params


@pytest.mark.parametrize(("params", "field"), [({"phone": "12"}, "phone"), ({"email": "nobody"}, "email")])
def test_api_filter_with_a_value_that_cannot_match_answers_422_naming_it(
    rep: Any, issue_token: Any, params: dict[str, str], field: str
) -> None:
    response = ApiClient(issue_token(rep, "read")[1]).get("/customers/", params)

    assert error_fields(assert_problem(response, 422)) == {field}


def test_web_list_filter_finds_by_phone_and_shows_a_bad_value_inline(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Wanted Ltd", phone="138 1234 5678")
    make_customer(rep, name="Other Ltd", phone="139 8765 4321")
    client = logged_in(rep)

    found = client.get("/customers/", {"phone": "+86 138 1234 5678"}).content.decode()
    bad = client.get("/customers/", {"phone": "12"})

    assert "Wanted Ltd" in found
    assert "Other Ltd" not in found
    assert bad.status_code == 200
    assert "Enter a valid phone number." in bad.content.decode()


def test_filters_and_search_respect_visibility(
    rep: Any, other_rep: Any, admin_user: Any, issue_token: Any, make_customer: Any
) -> None:
    mine = make_customer(rep, name="Mine", phone="138 1234 5678")
    theirs = make_customer(other_rep, name="Theirs", phone="138 1234 5678")

    as_rep = ApiClient(issue_token(rep, "read")[1]).get("/customers/", {"phone": "13812345678"}).json()
    searched = ApiClient(issue_token(rep, "read")[1]).get("/customers/", {"q": "138 1234 5678"}).json()
    as_admin = selectors.record_list(CUSTOMER, user=admin_user, params={"phone": "13812345678"})

    assert [item["id"] for item in as_rep["items"]] == [mine.pk]
    assert [item["id"] for item in searched["items"]] == [mine.pk]
    assert set(as_admin.values_list("pk", flat=True)) == {mine.pk, theirs.pk}  # duplicates found


def test_search_matches_a_whole_phone_or_email_never_a_part(rep: Any, make_customer: Any, make_contact: Any) -> None:
    customer = make_customer(rep, name="Acme", phone="138 1234 5678", email="info@acme.example")
    contact = make_contact(rep, customer, name="Li", email="li@acme.example")

    def found(rt: Any, q: str) -> list[int]:
        return list(selectors.record_list(rt, user=rep, q=q).values_list("pk", flat=True))

    assert found(CUSTOMER, "+86 138 1234 5678") == [customer.pk]
    assert found(CUSTOMER, "INFO@ACME.EXAMPLE") == [customer.pk]
    assert found(CONTACT, "Li@Acme.Example") == [contact.pk]
    assert found(CUSTOMER, "1381234") == []
    assert found(CUSTOMER, "acme.example") == []


def test_encrypted_lookup_q_is_none_for_text_that_is_no_phone_or_email(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme", phone="138 1234 5678")

    assert encrypted_lookup_q(CUSTOMER, "Acme") is None
    assert list(Customer.objects.filter(encrypted_lookup_q(CUSTOMER, "138-1234-5678"))) == [customer]


def test_saved_view_keeps_personal_filters_encrypted_and_still_applies_them(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Wanted Ltd", phone="138 1234 5678")
    make_customer(rep, name="Other Ltd")
    client = logged_in(rep)

    client.post("/customers/views/", {"name": "Wanted", "query": "phone=138 1234 5678&kind=company"})
    view = SavedView.objects.get(name="Wanted")
    page = client.get(f"/customers/?{view.query}&view={view.pk}").content.decode()

    stored = QueryDict(view.query)
    assert crypto.is_token(stored["phone"])
    assert stored["kind"] == "company"
    assert "Wanted Ltd" in page
    assert "Other Ltd" not in page
    assert 'value="138 1234 5678"' in page  # the filter shows the number as typed, not the token


def test_export_audit_entry_keeps_the_filter_encrypted(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Wanted Ltd", phone="138 1234 5678")

    response = logged_in(rep).get("/customers/export.csv", {"phone": "138 1234 5678", "cols": "name"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")

    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert "Wanted Ltd" in body
    assert entry.extra["count"] == 1
    query = QueryDict(entry.extra["query"])
    assert crypto.is_token(query["phone"])
    assert query["cols"] == "name"


def test_idempotency_answer_is_stored_encrypted_and_replayed_decrypted(rep: Any, issue_token: Any) -> None:
    api = ApiClient(issue_token(rep)[1])
    payload = {"name": "Acme", "phone": "138 1234 5678", "email": "info@acme.example"}

    first = api.post("/customers/", payload, **{"Idempotency-Key": "k1"})
    again = api.post("/customers/", payload, **{"Idempotency-Key": "k1"})

    stored = IdempotencyKey.objects.get()
    assert crypto.is_token(stored.body)
    assert again.json() == first.json()
    assert again.json()["phone"] == "+8613812345678"


# ---------------------------------------------------------------- the migration


def test_migration_encrypts_existing_plain_rows_in_batches_and_reverses(rep: Any) -> None:
    """The data step of customers.0003_encrypt_personal_fields, run on plain values as the
    schema step leaves them (the schema step itself is Django's AlterField/AddField)."""
    migration = importlib.import_module("kehu.customers.migrations.0003_encrypt_personal_fields")
    [step] = [op for op in migration.Migration.operations if isinstance(op, RunPython)]
    assert step.reversible
    quote = connection.ops.quote_name
    columns = "number, owner_id, created_at, updated_at, version, custom, kind, name, industry, size, source, phone, "
    columns += "email, website, country, province, city, district, street, postal_code, notes, phone_bidx, email_bidx"
    rows = [("C-1", "+8613812345678", "info@acme.example"), ("C-2", "", "Old@Acme.Example"), ("C-3", "12", "")]
    with connection.cursor() as cursor:
        for number, phone, email in rows:
            cursor.execute(
                f"INSERT INTO {quote('customers_customer')} ({columns}) VALUES (%s, %s, %s, %s, 1, '{{}}', "
                "'company', 'Old', '', '', '', %s, %s, '', '', '', '', '', '', '', '', '', '')",
                [number, rep.pk, "2026-01-01 00:00:00", "2026-01-01 00:00:00", phone, email],
            )
    customer_type = ContentType.objects.get_for_model(Customer)
    old_entry = AuditEntry.objects.create(  # written before the fields were encrypted
        action=AuditAction.UPDATE,
        source=Source.WEB,
        content_type=customer_type,
        object_id=1,
        changes={"name": ["Old", "New"], "phone": ["", "+8613812345678"], "email": ["a@old.example", "b@old.example"]},
    )
    old_answer = IdempotencyKey.objects.create(
        user=rep, key="k", path="/api/v1/customers/", fingerprint="f", status=201, body={"phone": "+8613812345678"}
    )
    editor = SimpleNamespace(connection=connection)  # what RunPython functions use of the schema editor
    migration_operations("customers", batch_size=2)[0](global_apps, editor)

    stored = {row[0]: row[1:] for row in Customer.objects.values_list("number", "phone", "email")}
    assert stored == {row[0]: row[1:] for row in rows}  # as they were, legacy values included
    assert Customer.objects.filter(lookup_q(Customer, "email", "old@acme.example")).count() == 1
    assert Customer.objects.filter(lookup_q(Customer, "phone", "138 1234 5678")).count() == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone, email, version FROM customers_customer WHERE number = 'C-1'")
        phone, email, version = cursor.fetchone()
    assert crypto.is_token(phone)
    assert crypto.is_token(email)
    assert version == 1  # not a change of data
    sealed = AuditEntry.objects.get(pk=old_entry.pk).changes
    assert sealed["name"] == ["Old", "New"]
    assert sealed["phone"][0] == ""
    assert all(crypto.is_token(value) for value in [sealed["phone"][1], *sealed["email"]])
    assert audit_log.opened_changes(AuditEntry.objects.get(pk=old_entry.pk)) == old_entry.changes
    assert crypto.is_token(IdempotencyKey.objects.get(pk=old_answer.pk).body)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:  # append-only again
        cursor.execute("UPDATE platform_auditentry SET object_repr = 'x' WHERE id = %s", [old_entry.pk])

    step.reverse_code(global_apps, editor)

    with connection.cursor() as cursor:
        cursor.execute("SELECT number, phone, email, phone_bidx, email_bidx FROM customers_customer ORDER BY number")
        assert cursor.fetchall() == [(*row, "", "") for row in rows]
    assert AuditEntry.objects.get(pk=old_entry.pk).changes == old_entry.changes
    assert IdempotencyKey.objects.get(pk=old_answer.pk).body == {"phone": "+8613812345678"}


def test_system_check_refuses_an_encrypted_field_declared_sortable(monkeypatch: pytest.MonkeyPatch) -> None:
    from kehu.platform.fields import check_encrypted_fields_in_record_types
    from kehu.platform.records import RecordType, registry

    assert check_encrypted_fields_in_record_types() == []
    sorted_by_phone = RecordType(**{**vars(CUSTOMER), "key": "customer_by_phone", "sortable": ["name", "phone"]})
    monkeypatch.setitem(registry._types, sorted_by_phone.key, sorted_by_phone)

    [error] = check_encrypted_fields_in_record_types()

    assert error.id == "kehu.E101"
    assert "'phone'" in error.msg
