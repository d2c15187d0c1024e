"""``platform.bulk_insert``: the bulk paths' insert stores what ``bulk_create`` stores."""

from __future__ import annotations

import decimal
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Value
from django.db.models.functions import Upper
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kehu.customers.models import Customer
from kehu.platform import crypto
from kehu.platform.bulk_insert import bulk_insert

pytestmark = pytest.mark.django_db


NOW = timezone.now()


def _customers(user: Any, prefix: str, now: Any = NOW) -> list[Customer]:
    return [
        Customer(
            number=f"{prefix}-{index}",
            name=f"客户{index}",
            owner=user,
            team_id=user.team_id,
            created_by=user,
            updated_by=user,
            created_at=now,
            updated_at=now,
            phone="+8613800008888" if index else "",
            email=f"u{index}@example.com",
            custom={"note": "文本", "n": index},
            credit_limit=decimal.Decimal("12.5") if index else None,
            grade_source="manual",
        )
        for index in range(3)
    ]


def _stored(prefix: str) -> list[dict[str, Any]]:
    """The rows as the application reads them (encrypted values decrypted: their tokens differ
    by a random nonce), without their ids and numbers."""
    rows = list(Customer.all_objects.filter(number__startswith=f"{prefix}-").order_by("number").values())
    return [{name: value for name, value in row.items() if name not in ("id", "number")} for row in rows]


def test_bulk_insert_stores_the_values_bulk_create_stores_and_sets_the_ids(rep: Any) -> None:
    Customer.all_objects.bulk_create(_customers(rep, "A"))
    inserted = bulk_insert(Customer, _customers(rep, "B"))

    assert all(obj.pk is not None and not obj._state.adding for obj in inserted)
    assert [Customer.all_objects.get(pk=obj.pk).number for obj in inserted] == ["B-0", "B-1", "B-2"]
    stored = _stored("B")
    assert stored == _stored("A")
    assert stored[1]["phone"] == "+8613800008888"
    with connection.cursor() as cursor:  # encrypted at rest
        cursor.execute("SELECT phone, email FROM customers_customer WHERE number = %s", ["B-1"])
        assert all(crypto.is_token(value) for value in cursor.fetchone())
    assert stored[1]["phone_bidx"]
    assert stored[1]["credit_limit"] == decimal.Decimal("12.5")


def test_bulk_insert_hands_an_expression_value_to_bulk_create(rep: Any) -> None:
    objs = _customers(rep, "C")
    objs[2].name = Upper(Value("acme"))

    bulk_insert(Customer, objs)

    assert [Customer.all_objects.get(pk=obj.pk).name for obj in objs] == ["客户0", "客户1", "ACME"]
    assert bulk_insert(Customer, []) == []


def test_bulk_insert_gives_each_instance_its_own_id_across_chunks(rep: Any) -> None:
    objs = [*_customers(rep, "D"), *_customers(rep, "E")]

    bulk_insert(Customer, objs, batch_size=4)  # a chunk of 4, then one of 2

    assert [Customer.all_objects.get(pk=obj.pk).number for obj in objs] == [obj.number for obj in objs]
    assert len({obj.pk for obj in objs}) == 6


def test_bulk_insert_raises_the_database_error_django_raises(rep: Any) -> None:
    Customer.all_objects.bulk_create(_customers(rep, "F"))
    duplicates = _customers(rep, "F")  # the same numbers: unique

    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert(Customer, duplicates)

    assert Customer.all_objects.filter(number__startswith="F-").count() == 3


def test_bulk_insert_is_seen_by_what_watches_the_queries(rep: Any) -> None:
    with CaptureQueriesContext(connection) as watched:
        bulk_insert(Customer, _customers(rep, "G"))

    inserts = [query["sql"] for query in watched.captured_queries if query["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    assert "customers_customer" in inserts[0]
    assert Customer.all_objects.filter(number__startswith="G-").count() == 3
