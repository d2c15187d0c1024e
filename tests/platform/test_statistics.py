"""Planner statistics: ANALYZE, with the blind indexes' figures corrected on SQLite."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from kehu.platform import housekeeping, statistics

pytestmark = pytest.mark.django_db


def _stat(table: str, column: str) -> str:
    with connection.cursor() as cursor:
        index = next(
            name
            for name, info in connection.introspection.get_constraints(cursor, table).items()
            if info["index"] and info["columns"] == [column]
        )
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s AND idx = %s", [table, index])
        return cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="sqlite_stat1 is SQLite's")
def test_blind_index_of_a_value_nobody_has_counts_as_naming_one_record(
    rep: Any, make_customer: Any, make_contact: Any
) -> None:
    customer = make_customer(rep, name="Acme")
    for n in range(30):  # mobiles, and no landline: every phone key is ''
        make_contact(rep, customer, name=f"Person {n}", mobile=f"1380000{n:04d}")
    statistics.refresh()
    assert _stat("customers_contact", "phone_bidx") == "30 1"  # ANALYZE alone: "30 30"
    assert _stat("customers_contact", "mobile_bidx") == "30 1"
    owner = _stat("customers_contact", "customer_id").split()
    assert owner[0] == "30"  # other indexes keep what ANALYZE measured


def test_refresh_is_a_nightly_sweep_and_runs_on_every_database(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Acme")
    assert "planner_statistics" in housekeeping.sweeps()
    assert housekeeping.schedules()["planner_statistics"].cron == "30 3 * * *"
    assert statistics.refresh() >= 0
