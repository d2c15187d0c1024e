"""Custom fields of kind phone and email hold personal data: stored encrypted in ``custom``
with a blind index, read back in plain text, found in any format by filters and the list
search, sealed in the audit log, and re-encrypted by ``kehu rotate-keys``."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from kehu.customers.models import Customer
from kehu.customers.records import CUSTOMER
from kehu.platform import crypto, selectors, services
from kehu.platform.audit import history_for, opened_changes
from kehu.platform.context import Context

pytestmark = pytest.mark.django_db


@pytest.fixture
def private(define: Any, key_dir: Path) -> None:
    define("hotline", "phone")
    define("billing_email", "email")
    define("motto", "text")


def stored(customer: Any) -> dict[str, Any]:
    """The ``custom`` column as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT custom FROM {Customer._meta.db_table} WHERE id = %s", [customer.pk])
        value = cursor.fetchone()[0]
    return json.loads(value) if isinstance(value, str) else value


def test_phone_and_email_custom_values_are_stored_encrypted_and_read_in_plain(
    private: None, rep: Any, make_customer: Any
) -> None:
    customer = make_customer(
        rep, custom={"hotline": "138 1234 5678", "billing_email": "Pay@Example.com", "motto": "Quality first"}
    )

    raw = stored(customer)
    text = json.dumps(raw)
    assert "13812345678" not in text
    assert "pay@example.com" not in text.lower()
    assert raw["motto"] == "Quality first"  # not personal: searchable as it is
    assert crypto.is_token(raw["hotline"])
    assert set(raw["_index"]) == {"hotline", "billing_email"}
    fresh = Customer.objects.get(pk=customer.pk)
    assert fresh.custom == {"hotline": "+8613812345678", "billing_email": "pay@example.com", "motto": "Quality first"}


def test_filters_and_list_search_find_them_in_any_format_but_not_by_a_part(
    private: None, rep: Any, make_customer: Any
) -> None:
    make_customer(rep, name="Found", custom={"hotline": "+86 138 1234 5678", "billing_email": "pay@example.com"})
    make_customer(rep, name="Other", custom={"hotline": "139 0000 0000"})

    def found(**params: Any) -> list[str]:
        return [c.name for c in selectors.record_list(CUSTOMER, user=rep, params=params)]

    assert found(cf_hotline="13812345678") == ["Found"]
    assert found(cf_hotline="+86-138-1234-5678") == ["Found"]
    assert found(cf_hotline="1234") == []
    assert found(cf_billing_email="PAY@example.COM") == ["Found"]
    assert [c.name for c in selectors.record_list(CUSTOMER, user=rep, q="138 1234 5678")] == ["Found"]


def test_audit_entries_hold_them_sealed_and_history_opens_them(private: None, rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, custom={"hotline": "138 1234 5678"})
    services.record_update(CUSTOMER, ctx=Context(user=rep), obj=customer, data={"custom": {"hotline": "13987654321"}})

    update = history_for(customer).get(action="update")
    assert "13987654321" not in json.dumps(update.changes)
    assert opened_changes(update)["custom.hotline"] == ["+8613812345678", "+8613987654321"]


def test_rotation_reencrypts_them_and_lookups_still_work(
    private: None, rep: Any, make_customer: Any, key_dir: Path
) -> None:
    customer = make_customer(rep, name="Rotated", custom={"hotline": "138 1234 5678", "billing_email": "a@b.cn"})
    old = crypto.keyring().current.id
    version = Customer.objects.get(pk=customer.pk).version

    call_command("rotate_keys", "--new", "--grace", "0", stdout=StringIO())

    new = crypto.keyring().current.id
    raw = stored(customer)
    assert new != old
    assert {crypto.token_key_id(raw[name]) for name in ("hotline", "billing_email")} == {new}
    assert Customer.objects.get(pk=customer.pk).custom["hotline"] == "+8613812345678"
    assert Customer.objects.get(pk=customer.pk).version == version  # not a change of the data
    found = selectors.record_list(CUSTOMER, user=rep, params={"cf_hotline": "138-1234-5678"})
    assert [c.name for c in found] == ["Rotated"]
