"""Table checksums are the same on SQLite and PostgreSQL for the same data: every kind of value
has one canonical text whichever type the driver hands back; a database not yet migrated to
this code is checksummed over the columns it has, and a manifest's spec is repeated exactly."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from kehu.dataio.backup import checksums


@pytest.mark.parametrize(
    ("column", "sqlite_value", "postgres_value"),
    [
        (checksums.Column("c", "bool"), 1, True),
        (checksums.Column("c", "decimal", 2), 12.5, Decimal("12.50")),
        (checksums.Column("c", "decimal", 2), 0, Decimal("-0.00")),
        (
            checksums.Column("c", "datetime"),
            "2026-11-26 02:03:04.500000",
            dt.datetime(2026, 11, 26, 10, 3, 4, 500000, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        ),
        (checksums.Column("c", "date"), "2026-11-26", dt.date(2026, 11, 26)),
        (checksums.Column("c", "json"), '{"b": [1, 2.5], "a": "客户"}', {"a": "客户", "b": [1, 2.5]}),
        (checksums.Column("c", "bytes"), b"\x00\xff", memoryview(b"\x00\xff")),
        (
            checksums.Column("c", "uuid"),
            "12345678123456781234567812345678",
            UUID("12345678-1234-5678-1234-567812345678"),
        ),
        (checksums.Column("c", "duration"), 90_000_000, dt.timedelta(seconds=90)),
        (checksums.Column("c", "text"), None, None),
    ],
)
def test_values_canonicalise_alike_on_sqlite_and_postgresql(
    column: checksums.Column, sqlite_value: Any, postgres_value: Any
) -> None:
    assert checksums.canonical(column, sqlite_value) == checksums.canonical(column, postgres_value)


def test_null_and_empty_text_and_the_text_null_marker_differ() -> None:
    text = checksums.Column("c", "text")
    assert len({checksums.canonical(text, None), checksums.canonical(text, ""), checksums.canonical(text, "-")}) == 3


def test_a_database_not_yet_migrated_is_checksummed_over_the_columns_it_has() -> None:
    connection = sqlite3.connect(":memory:")
    # platform_numbersequence without its last_value column, rows inserted out of order
    connection.execute("CREATE TABLE platform_numbersequence (prefix varchar(16) PRIMARY KEY)")
    connection.executemany("INSERT INTO platform_numbersequence VALUES (?)", [("O",), ("C",), ("客",)])

    result = checksums.database_checksums(connection, "sqlite")

    assert list(result) == ["platform_numbersequence"]
    table = result["platform_numbersequence"]
    assert table["rows"] == 3
    assert table["columns"] == [["prefix", "text", None]]
    assert table["pk_text"] is True
    again = checksums.database_checksums(connection, "sqlite", specs={"platform_numbersequence": table})
    assert again == result


def test_a_changed_value_changes_the_checksum_and_a_missing_table_is_reported() -> None:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE platform_numbersequence (prefix varchar(16) PRIMARY KEY, last_value bigint)")
    connection.execute("INSERT INTO platform_numbersequence VALUES ('C', 7)")
    before = checksums.database_checksums(connection, "sqlite")
    connection.execute("UPDATE platform_numbersequence SET last_value = 8")
    after = checksums.database_checksums(connection, "sqlite", specs=before)

    assert checksums.differences(before, after) == ["table platform_numbersequence: checksum differs (1 rows)"]
    assert checksums.differences({**before, "gone": {"rows": 2, "sha256": "x"}}, before) == [
        "table gone: missing (the manifest has 2 rows)"
    ]
