"""``kehu rotate-keys``: a new key becomes current, every encrypted value is re-encrypted under
it in resumable batches, and throughout every value stays readable and every blind-index lookup
keeps finding its record; the audit log stays readable through the retired keys."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError
from django.db import connection

from kehu import cli
from kehu.customers.models import Contact, Customer
from kehu.customers.records import CONTACT, CUSTOMER
from kehu.platform import audit as audit_log
from kehu.platform import crypto, selectors, services
from kehu.platform.context import Context, Source
from kehu.platform.fields import encrypted_fields, lookup_q
from kehu.platform.models import AuditAction, AuditEntry
from kehu.platform.rekey import rewrite, to_current_key
from kehu.platform.views import history_rows

pytestmark = pytest.mark.django_db

PHONES = ["138 1234 5678", "139 8765 4321", "137 2222 3333", "136 5555 6666"]


@pytest.fixture
def keys(key_dir: Path) -> Path:
    """Keys in a data directory of their own (tests/conftest.py)."""
    return key_dir


@pytest.fixture
def records(keys: Path, rep: Any, make_customer: Any, make_contact: Any) -> list[Any]:
    """Two customers with a contact each, all with phones and emails, one of them changed once."""
    made = []
    for n in range(2):
        customer = make_customer(rep, name=f"Customer {n}", phone=PHONES[n], email=f"Buyer{n}@Example.com")
        contact = make_contact(rep, customer, name=f"Contact {n}", mobile=PHONES[n + 2], email=f"c{n}@example.com")
        made += [customer, contact]
    services.record_update(
        CUSTOMER, ctx=Context(user=rep, source=Source.CLI), obj=made[0], data={"email": "changed@example.com"}
    )
    return made


def stored_key_ids() -> dict[str, int]:
    """How many stored values of every encrypted column are under each key id."""
    counts: dict[str, int] = {}
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in (Customer, Contact):
            for field in encrypted_fields(model):
                cursor.execute(f"SELECT {quote(field.column)} FROM {quote(model._meta.db_table)}")
                for (value,) in cursor.fetchall():
                    if value:
                        key_id = crypto.token_key_id(value) or "plain"
                        counts[key_id] = counts.get(key_id, 0) + 1
    return counts


def assert_everything_readable_and_found(user: Any) -> None:
    customers = {c.name: c for c in Customer.objects.all()}
    contacts = {c.name: c for c in Contact.objects.all()}
    assert customers["Customer 0"].phone == "+8613812345678"
    assert customers["Customer 0"].email == "changed@example.com"
    assert customers["Customer 1"].email == "buyer1@example.com"
    assert contacts["Contact 1"].mobile == "+8613655556666"
    for name, field, text in [
        ("Customer 0", "phone", "138-1234-5678"),
        ("Customer 1", "phone", "+86 139 8765 4321"),
        ("Customer 0", "email", "CHANGED@example.com"),
        ("Customer 1", "email", "buyer1@EXAMPLE.com"),
    ]:
        assert [c.name for c in Customer.objects.filter(lookup_q(Customer, field, text))] == [name], (field, text)
    for name, field, text in [("Contact 0", "mobile", "13722223333"), ("Contact 1", "email", "C1@example.com")]:
        assert [c.name for c in Contact.objects.filter(lookup_q(Contact, field, text))] == [name], (field, text)
    found = selectors.record_list(CUSTOMER, user=user, params={"phone": "13987654321"})
    assert [c.name for c in found] == ["Customer 1"]
    assert [c.name for c in selectors.record_list(CONTACT, user=user, q="c0@example.com")] == ["Contact 0"]


def test_rotation_with_a_new_key_keeps_every_value_readable_and_found(
    keys: Path, records: list[Any], rep: Any, run_command: Any
) -> None:
    old = crypto.keyring().current
    old_key_file = (keys / crypto.KEY_FILE).read_text()

    out = run_command("rotate_keys", "--new", "--grace", "0")

    new = crypto.keyring().current
    assert new.id != old.id
    assert (keys / crypto.KEY_FILE).read_text() != old_key_file
    assert (keys / crypto.OLD_KEYS_FILE).read_text().split() == [old.secret]
    for name in (crypto.KEY_FILE, crypto.OLD_KEYS_FILE):
        assert stat.S_IMODE((keys / name).stat().st_mode) == 0o600
    assert stored_key_ids() == {new.id: 8}  # customers' phones and emails, contacts' mobiles and emails
    assert f"New key {new.id} is now current" in out
    assert "8 values in 4 rows re-encrypted" in out
    assert "Every encrypted value is under the current key." in out
    assert_everything_readable_and_found(rep)


def test_audit_history_stays_readable_after_rotation(
    keys: Path, records: list[Any], rep: Any, run_command: Any
) -> None:
    run_command("rotate_keys", "--new", "--grace", "0")

    [update] = AuditEntry.objects.filter(action=AuditAction.UPDATE)
    assert crypto.token_key_id(update.changes["email"][0]) != crypto.keyring().current.id  # never rewritten
    assert audit_log.opened_changes(update)["email"] == ["buyer0@example.com", "changed@example.com"]
    [row] = history_rows([update])
    assert row["changes"][0][1:] == ("buyer0@example.com", "changed@example.com")


def test_interrupted_rotation_leaves_everything_readable_and_a_rerun_finishes_without_redoing_rows(
    keys: Path, records: list[Any], rep: Any, run_command: Any
) -> None:
    old_id = crypto.keyring().current.id

    first = run_command("rotate_keys", "--new", "--grace", "0", "--batch-size", "1", "--max-batches", "1")

    new_id = crypto.keyring().current.id
    halfway = stored_key_ids()
    assert set(halfway) == {old_id, new_id}
    assert "2 values in 1 row re-encrypted" in first
    assert "run kehu rotate-keys again" in first
    assert_everything_readable_and_found(rep)  # lookups try every key of the keyring
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, phone, email FROM customers_customer ORDER BY id LIMIT 1")
        first_row = cursor.fetchone()
    assert all(crypto.token_key_id(value) == new_id for value in first_row[1:])

    second = run_command("rotate_keys")

    with connection.cursor() as cursor:
        cursor.execute("SELECT id, phone, email FROM customers_customer ORDER BY id LIMIT 1")
        assert cursor.fetchone() == first_row  # not encrypted a second time
    assert stored_key_ids() == {new_id: 8}
    assert "in 3 rows re-encrypted" in second
    assert_everything_readable_and_found(rep)


def test_rotation_reencrypts_stored_api_answers_and_saved_view_filters(keys: Path, rep: Any, run_command: Any) -> None:
    from django.http import QueryDict
    from django.test import Client

    from kehu.accounts.services import token_create
    from kehu.platform.models import IdempotencyKey, SavedView
    from tests.api.support import ApiClient

    _token, secret = token_create(ctx=Context(user=rep, source=Source.CLI), user=rep, scopes=["write"])
    api = ApiClient(secret)
    payload = {"name": "Acme", "phone": PHONES[0]}
    first = api.post("/customers/", payload, **{"Idempotency-Key": "rotate-me"})
    web = Client()
    web.force_login(rep)
    web.post("/customers/views/", {"name": "Mine", "query": f"phone={PHONES[0]}"})

    out = run_command("rotate_keys", "--new", "--grace", "0")

    current = crypto.keyring().current.id
    assert crypto.token_key_id(IdempotencyKey.objects.get().body) == current
    assert crypto.token_key_id(QueryDict(SavedView.objects.get().query)["phone"]) == current
    assert "2 stored API answers or saved views" in out
    assert api.post("/customers/", payload, **{"Idempotency-Key": "rotate-me"}).json() == first.json()
    view = SavedView.objects.get()
    assert "Acme" in web.get(f"/customers/?{view.query}").content.decode()


def test_rerun_after_a_complete_rotation_does_nothing(keys: Path, records: list[Any], run_command: Any) -> None:
    run_command("rotate_keys", "--new", "--grace", "0")

    again = run_command("rotate_keys")

    assert "Done: 0 values in 0 rows" in again


def test_new_key_is_refused_when_the_key_comes_from_the_environment(
    keys: Path, settings: Any, run_command: Any
) -> None:
    settings.KEHU_ENCRYPTION_KEY_FROM_ENV = True
    settings.KEHU_ENCRYPTION_KEY = "set by the operator"
    before = (keys / crypto.KEY_FILE).read_text()

    with pytest.raises(CommandError, match="KEHU_ENCRYPTION_OLD_KEYS"):
        run_command("rotate_keys", "--new", "--grace", "0")

    assert (keys / crypto.KEY_FILE).read_text() == before
    assert not (keys / crypto.OLD_KEYS_FILE).exists()


def test_environment_keys_rotate_after_the_operator_swaps_them(
    keys: Path, settings: Any, rep: Any, make_customer: Any, make_contact: Any, run_command: Any
) -> None:
    settings.KEHU_ENCRYPTION_KEY_FROM_ENV = True
    settings.KEHU_ENCRYPTION_KEY = "first key from the environment"
    customer = make_customer(rep, name="Customer 0", phone=PHONES[0], email="Buyer0@Example.com")
    settings.KEHU_ENCRYPTION_KEY = "second key from the environment"
    settings.KEHU_ENCRYPTION_OLD_KEYS = ["first key from the environment"]

    out = run_command("rotate_keys")

    assert stored_key_ids() == {crypto.Key.from_secret("second key from the environment").id: 2}
    assert "2 values in 1 row re-encrypted" in out
    assert Customer.objects.filter(lookup_q(Customer, "phone", PHONES[0])).get() == customer


def test_values_under_a_lost_key_fail_the_command_naming_them_and_the_rest_is_rotated(
    keys: Path, settings: Any, rep: Any, make_customer: Any, run_command: Any
) -> None:
    settings.KEHU_ENCRYPTION_KEY_FROM_ENV = True
    settings.KEHU_ENCRYPTION_KEY = "a key that gets lost"
    lost = make_customer(rep, name="Lost", phone=PHONES[0])
    settings.KEHU_ENCRYPTION_KEY = "the only key left"
    make_customer(rep, name="Kept", phone=PHONES[1])
    settings.KEHU_ENCRYPTION_KEY = "the newest key"
    settings.KEHU_ENCRYPTION_OLD_KEYS = ["the only key left"]

    with pytest.raises(CommandError, match=rf"1 value could not be decrypted.*customers.Customer #{lost.pk} phone"):
        run_command("rotate_keys")

    ids = stored_key_ids()
    assert ids[crypto.Key.from_secret("the newest key").id] == 1
    assert ids[crypto.Key.from_secret("a key that gets lost").id] == 1


@pytest.mark.parametrize("option", [["--batch-size", "0"], ["--max-batches", "0"]])
def test_bad_batch_options_are_refused(keys: Path, run_command: Any, option: list[str]) -> None:
    with pytest.raises(CommandError, match="at least 1"):
        run_command("rotate_keys", *option)


def test_a_value_changed_while_its_batch_is_rotated_is_left_to_the_user(
    keys: Path, settings: Any, rep: Any, make_customer: Any
) -> None:
    settings.KEHU_ENCRYPTION_OLD_KEYS = [crypto.keyring().current.secret]
    customer = make_customer(rep, name="Busy", phone=PHONES[0])
    (keys / crypto.KEY_FILE).write_text(crypto.generate_key() + "\n")
    crypto.reset()

    def user_edits_meanwhile(field: Any, stored: str) -> Any:
        if field.name == "phone":  # a user saves a new number between the read and the write
            services.record_update(
                CUSTOMER, ctx=Context(user=rep, source=Source.WEB), obj=customer, data={"phone": PHONES[1]}
            )
        return to_current_key(field, stored)

    result = rewrite(Customer, transform=user_edits_meanwhile, pending_sql=lambda c: f"{c} <> ''")

    assert (result.rows, result.changed_meanwhile) == (0, 1)
    assert Customer.objects.get(pk=customer.pk).phone == "+8613987654321"  # the user's change stands
    assert Customer.objects.filter(lookup_q(Customer, "phone", PHONES[1])).get().pk == customer.pk


def test_kehu_rotate_keys_is_listed_and_known_by_its_hyphenated_name(capsys: pytest.CaptureFixture[str]) -> None:
    cli.main([])
    assert "  rotate-keys " in capsys.readouterr().out

    cli.main(["help", "rotate-keys"])

    assert "--max-batches" in capsys.readouterr().out
