"""Row counts and checksums of every table, computed the same way on SQLite and PostgreSQL.

A table's checksum is SHA-256 over its rows ordered by primary key (byte order of the text on
both vendors: ``COLLATE "C"`` on PostgreSQL, SQLite's default BINARY), each row the values of the
model's columns in declaration order, each value turned into one canonical text by the kind of
its Django field: booleans ``1``/``0`` (SQLite stores integers), decimals quantized to the field's
places (SQLite may hand back a float), datetimes in UTC with microseconds (SQLite stores text),
JSON re-serialised with sorted keys (PostgreSQL's jsonb reorders them), bytes and UUIDs in hex.
Each value is length-prefixed so that no two different rows hash alike.

The functions take a plain DB-API connection (``sqlite3`` or ``psycopg``) rather than Django's,
so they run on the copy being archived, on a temporary database or on a restored file.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models
from django.db.migrations.recorder import MigrationRecorder
from django.utils.dateparse import parse_date, parse_datetime, parse_duration, parse_time

METHOD = "kehu-rows-sha256-v1"
FETCH_ROWS = 2000

KINDS: dict[str, str] = {
    "BooleanField": "bool",
    "NullBooleanField": "bool",
    "AutoField": "int",
    "BigAutoField": "int",
    "SmallAutoField": "int",
    "IntegerField": "int",
    "BigIntegerField": "int",
    "SmallIntegerField": "int",
    "PositiveIntegerField": "int",
    "PositiveBigIntegerField": "int",
    "PositiveSmallIntegerField": "int",
    "DecimalField": "decimal",
    "FloatField": "float",
    "DateTimeField": "datetime",
    "DateField": "date",
    "TimeField": "time",
    "DurationField": "duration",
    "JSONField": "json",
    "BinaryField": "bytes",
    "UUIDField": "uuid",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    places: int | None = None


@dataclass(frozen=True)
class Table:
    name: str
    pk: str
    pk_is_text: bool
    columns: tuple[Column, ...]


def field_kind(field: Any) -> str:
    """The canonical kind of a field's stored value (a foreign key has its target's kind)."""
    while field.is_relation and getattr(field, "target_field", None) is not None:
        field = field.target_field
    return KINDS.get(field.get_internal_type(), "text")


def model_tables() -> list[Table]:
    """Every table of a concrete, managed model (many-to-many tables and django_migrations
    included), by name; tables without a model (the SQLite full-text index, the cache) are
    vendor-specific or transient and left out."""
    found: dict[str, Table] = {}
    candidates: list[type[models.Model]] = [*apps.get_models(include_auto_created=True), MigrationRecorder.Migration]
    for model in candidates:
        meta = model._meta
        if meta.proxy or not meta.managed or meta.db_table in found or meta.pk is None:
            continue
        columns = []
        for field in meta.local_concrete_fields:
            kind = field_kind(field)
            places = getattr(field, "decimal_places", None) if kind == "decimal" else None
            columns.append(Column(field.column, kind, places))
        pk_kind = field_kind(meta.pk)
        found[meta.db_table] = Table(meta.db_table, meta.pk.column, pk_kind == "text", tuple(columns))
    return [found[name] for name in sorted(found)]


# ------------------------------------------------------------------ canonical text of a value


def _text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8")
    return str(value)


def _bool(value: Any) -> str:
    if isinstance(value, str):
        return "1" if value.strip().lower() in {"1", "t", "true"} else "0"
    return "1" if value else "0"


def _int(value: Any) -> str:
    return str(int(value))


def _decimal(value: Any, places: int | None) -> str:
    number = value if isinstance(value, decimal.Decimal) else decimal.Decimal(_text(value).strip())
    if places is not None:
        number = number.quantize(decimal.Decimal(1).scaleb(-places), context=decimal.Context(prec=100))
    if number.is_zero():
        number = abs(number)
    return f"{number:f}"


def _float(value: Any) -> str:
    return repr(float(value))


def _datetime(value: Any) -> str:
    if not isinstance(value, datetime.datetime):
        parsed = parse_datetime(_text(value).strip())
        if parsed is None:
            raise ValueError(f"not a datetime: {value!r}")
        value = parsed
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _date(value: Any) -> str:
    if isinstance(value, datetime.datetime):
        value = value.date()
    if not isinstance(value, datetime.date):
        parsed = parse_date(_text(value).strip()[:10])
        if parsed is None:
            raise ValueError(f"not a date: {value!r}")
        value = parsed
    return value.isoformat()


def _time(value: Any) -> str:
    if not isinstance(value, datetime.time):
        parsed = parse_time(_text(value).strip())
        if parsed is None:
            raise ValueError(f"not a time: {value!r}")
        value = parsed
    return value.replace(tzinfo=None).isoformat(timespec="microseconds")


def _duration(value: Any) -> str:
    if isinstance(value, datetime.timedelta):
        return str((value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds)
    if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
        parsed = parse_duration(value)
        if parsed is None:
            raise ValueError(f"not a duration: {value!r}")
        return _duration(parsed)
    return str(int(value))


def _json(value: Any) -> str:
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        value = json.loads(_text(value))
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _bytes(value: Any) -> str:
    if isinstance(value, str):
        return value.encode("utf-8").hex()
    return bytes(value).hex()


def _uuid(value: Any) -> str:
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, (bytes, bytearray, memoryview)) and len(bytes(value)) == 16:
        return uuid.UUID(bytes=bytes(value)).hex
    return uuid.UUID(_text(value)).hex


CANONICAL: dict[str, Callable[[Any], str]] = {
    "text": _text,
    "bool": _bool,
    "int": _int,
    "float": _float,
    "datetime": _datetime,
    "date": _date,
    "time": _time,
    "duration": _duration,
    "json": _json,
    "bytes": _bytes,
    "uuid": _uuid,
}


def canonical(column: Column, value: Any) -> str:
    """The canonical text of one stored value (``None`` is told apart from every text)."""
    if value is None:
        return "-"
    text = _decimal(value, column.places) if column.kind == "decimal" else CANONICAL[column.kind](value)
    return f"{len(text)}:{text}"


# ------------------------------------------------------------------ tables of a connection


def existing_tables(connection: Any, vendor: str) -> set[str]:
    cursor = connection.cursor()
    try:
        if vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        else:
            cursor.execute("SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema()")
        return {row[0] for row in cursor.fetchall()}
    finally:
        cursor.close()


def existing_columns(connection: Any, vendor: str, table: str) -> set[str]:
    cursor = connection.cursor()
    try:
        if vendor == "sqlite":
            cursor.execute(f"PRAGMA table_info({_quote(table)})")
            return {row[1] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s",
            [table],
        )
        return {row[0] for row in cursor.fetchall()}
    finally:
        cursor.close()


def table_spec(table: Table) -> dict[str, Any]:
    """How a table was checksummed, for the manifest: a verification repeats exactly this, even
    with a Kehu version whose models differ."""
    return {
        "pk": table.pk,
        "pk_text": table.pk_is_text,
        "columns": [[c.name, c.kind, c.places] for c in table.columns],
    }


def table_from_spec(name: str, spec: dict[str, Any]) -> Table:
    columns = tuple(Column(str(c[0]), str(c[1]), None if c[2] is None else int(c[2])) for c in spec["columns"])
    return Table(name, str(spec["pk"]), bool(spec["pk_text"]), columns)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_sql(table: Table, vendor: str) -> str:
    order = _quote(table.pk)
    if table.pk_is_text and vendor == "postgresql":
        order += ' COLLATE "C"'
    names = ", ".join(_quote(column.name) for column in table.columns)
    return f"SELECT {names} FROM {_quote(table.name)} ORDER BY {order}"  # noqa: S608


def table_checksum(connection: Any, vendor: str, table: Table) -> dict[str, Any]:
    """``{"rows": n, "sha256": hex}`` of one table; reads in chunks (a server-side cursor on
    PostgreSQL, which needs the connection to be inside a transaction)."""
    digest = hashlib.sha256()
    rows = 0
    cursor = connection.cursor(name="kehu_checksum") if vendor == "postgresql" else connection.cursor()
    try:
        cursor.execute(table_sql(table, vendor))
        while True:
            chunk = cursor.fetchmany(FETCH_ROWS)
            if not chunk:
                break
            for row in chunk:
                digest.update("\x1f".join(canonical(c, v) for c, v in zip(table.columns, row, strict=True)).encode())
                digest.update(b"\x1e")
            rows += len(chunk)
    finally:
        cursor.close()
    return {"rows": rows, "sha256": digest.hexdigest()}


def database_checksums(
    connection: Any,
    vendor: str,
    *,
    specs: dict[str, dict[str, Any]] | None = None,
    progress: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Row count, checksum and spec (primary key, columns and their kinds) of every table.

    Without ``specs``: every model table present, with the model's columns that the table has
    (a database not yet migrated to this code lacks some). With ``specs`` (a manifest's
    tables): exactly those tables and columns; a table missing from the database is left out
    of the answer."""
    present = existing_tables(connection, vendor)
    if specs is not None:
        tables = [table_from_spec(name, spec) for name, spec in sorted(specs.items())]
    else:
        tables = []
        for table in model_tables():
            if table.name not in present:
                continue
            columns = existing_columns(connection, vendor, table.name)
            kept = tuple(column for column in table.columns if column.name in columns)
            if table.pk in columns:
                tables.append(Table(table.name, table.pk, table.pk_is_text, kept))
    result: dict[str, dict[str, Any]] = {}
    for table in tables:
        if table.name not in present:
            continue
        result[table.name] = {**table_checksum(connection, vendor, table), **table_spec(table)}
        if progress is not None:
            progress(table.name, result[table.name])
    return result


def applied_migrations(connection: Any) -> list[list[str]]:
    cursor = connection.cursor()
    try:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        return [[str(app), str(name)] for app, name in cursor.fetchall()]
    finally:
        cursor.close()


def differences(expected: dict[str, dict[str, Any]], actual: dict[str, dict[str, Any]]) -> list[str]:
    """Every way ``actual`` differs from ``expected`` (the manifest), one line each."""
    lines = []
    for name in sorted(set(expected) | set(actual)):
        want, got = expected.get(name), actual.get(name)
        if got is None:
            lines.append(f"table {name}: missing (the manifest has {want['rows'] if want else '?'} rows)")
        elif want is None:
            lines.append(f"table {name}: not in the manifest ({got['rows']} rows)")
        elif want["rows"] != got["rows"]:
            lines.append(f"table {name}: {got['rows']} rows, the manifest says {want['rows']}")
        elif want["sha256"] != got["sha256"]:
            lines.append(f"table {name}: checksum differs ({got['rows']} rows)")
    return lines


def totals(checksums: Iterable[dict[str, Any]]) -> int:
    return sum(int(item["rows"]) for item in checksums)
