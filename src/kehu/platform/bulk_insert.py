"""Inserting many new rows of one model: ``QuerySet.bulk_create`` without the per-value cost of
its SQL compiler, for the bulk write paths (imports: records, audit entries, timeline entries).

Every value goes through the field exactly as ``bulk_create`` sends it (``pre_save(obj,
add=True)`` then ``get_db_prep_save``), so encryption, blind indexes, JSON and dates are
converted by the same code; only plain ``CharField``/``TextField`` strings and
``IntegerField`` integers, which that code hands back unchanged, skip the calls. The rows go
in one multi-row ``INSERT … RETURNING`` per chunk (primary keys set on the instances, like
``bulk_create`` on SQLite and PostgreSQL; on PostgreSQL an ``INSERT … SELECT * FROM UNNEST``
of one array per column, as ``bulk_create`` does there). Anything this does not cover — a multi-table model,
a primary key already set, an expression or database default as a value, a field with its
own placeholder, a database that cannot return rows from a bulk insert — falls back to
``bulk_create`` itself."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from django.db import connections, models, router, transaction

# Exact classes (not subclasses) whose ``get_db_prep_save`` returns such a value unchanged.
_PLAIN_TEXT = (models.CharField, models.TextField)
_PLAIN_INTEGER = (
    models.IntegerField,
    models.BigIntegerField,
    models.SmallIntegerField,
    models.PositiveIntegerField,
    models.PositiveBigIntegerField,
    models.PositiveSmallIntegerField,
)

_SAME: Any = object()  # marker: convert a value once while rows repeat it

_plans: dict[tuple[type[models.Model], str], Any] = {}


def _plan(model: type[models.Model], vendor: str) -> tuple[list[Any], list[tuple[Any, str, Any]]] | None:
    key = (model, vendor)
    if key in _plans:
        return _plans[key]
    opts = model._meta
    plan: Any = None
    simple = all(parent._meta.concrete_model is opts.concrete_model for parent in opts.all_parents)
    # Besides the primary key, only fields with a database default come back from the insert:
    # given a value (not the default, which falls back), they come back as given.
    returning = [f for f in opts.db_returning_fields if f is not opts.pk and not f.has_db_default()]  # type: ignore[attr-defined]
    if simple and not returning and isinstance(opts.pk, models.AutoField):
        fields = [f for f in opts.concrete_fields if not f.generated and not isinstance(f, models.AutoField)]
        if not any(hasattr(f, "get_placeholder") for f in fields):
            steps: list[tuple[Any, str, Any]] = []
            for f in fields:
                kind: Any = None
                if type(f) in _PLAIN_TEXT and type(f).pre_save is models.Field.pre_save:
                    kind = str
                elif type(f) in _PLAIN_INTEGER and type(f).pre_save is models.Field.pre_save:
                    kind = int
                elif type(f) is models.DateTimeField and not (f.auto_now or f.auto_now_add):
                    kind = _SAME  # converted once per distinct value (its pre_save is a getattr)
                elif (
                    type(f) is models.ForeignKey
                    and type(f).pre_save is models.Field.pre_save
                    and isinstance(f.target_field, models.AutoField)
                    and vendor in ("sqlite", "postgresql")  # whose ``validate_autopk_value`` is a no-op
                ):
                    kind = int  # the target's get_db_prep_save: int(value)
                steps.append((f, f.attname, kind))
            plan = (fields, steps)
    _plans[key] = plan
    return plan


def _unnest_types(connection: Any, fields: list[Any]) -> list[str] | None:
    """PostgreSQL: the columns' types for an ``UNNEST`` of arrays (those of Django's own
    ``InsertUnnest``, without their length, so that nothing is cut), or None to insert
    ``VALUES``: another database, or a field of a type not Django's own."""
    if connection.vendor != "postgresql":
        return None
    target = [f.target_field if f.is_relation else f for f in fields]
    if any(f.get_internal_type() not in connection.data_types for f in target):
        return None
    return [f.db_type(connection).split("(")[0] for f in fields]


def _max_rows(connection: Any, fields: list[Any], objs: list[Any]) -> int:
    """Rows per statement: SQLite's real limit on variables (Django assumes 999, the old
    default, where SQLite 3.32+ allows 32,766), else the backend's."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        return max(1, limit // max(1, len(fields)))
    return int(connection.ops.bulk_batch_size(fields, objs))


def bulk_insert(model: type[models.Model], objs: Sequence[models.Model], *, batch_size: int = 500) -> list[Any]:
    """Insert the unsaved instances ``objs`` of ``model`` and set their primary keys; returns
    them (like ``model._base_manager.bulk_create(objs, batch_size=batch_size)``, which it
    falls back to for the cases it does not cover, see the module's docstring)."""
    objs = list(objs)
    if not objs:
        return objs
    using = router.db_for_write(model)
    connection = connections[using]
    plan = _plan(model, connection.vendor)
    if (
        plan is None
        or not connection.features.can_return_rows_from_bulk_insert
        or any(obj.pk is not None for obj in objs)
    ):
        return model._base_manager.using(using).bulk_create(objs, batch_size=batch_size)
    fields, steps = plan
    rows: list[list[Any]] = []
    last: dict[str, tuple[Any, Any]] = {}  # field -> (value, converted) of the previous row
    for obj in objs:
        if obj._state.fields_cache:  # its checks concern cached related instances only
            obj._prepare_related_fields_for_save(operation_name="bulk_create")  # type: ignore[attr-defined]
        row = []
        for f, attname, kind in steps:
            if kind is _SAME:  # a date and time: rows of a batch share their timestamps
                value = getattr(obj, attname)
                previous = last.get(attname)
                if previous is not None and previous[0] is value:
                    row.append(previous[1])
                    continue
            elif kind is not None:
                value = getattr(obj, attname)
                if value is None or type(value) is kind:
                    row.append(value)
                    continue
            value = f.pre_save(obj, True)
            if hasattr(value, "resolve_expression"):  # an expression or a database default
                return model._base_manager.using(using).bulk_create(objs, batch_size=batch_size)
            converted = f.get_db_prep_save(value, connection=connection)
            if kind is _SAME:
                last[attname] = (value, converted)
            row.append(converted)
        rows.append(row)
    ops = connection.ops
    columns = ", ".join(ops.quote_name(f.column) for f in fields)
    returning, _params = ops.return_insert_columns([model._meta.pk])
    head = f"INSERT INTO {ops.quote_name(model._meta.db_table)} ({columns}) "
    unnest = _unnest_types(connection, fields)
    if unnest is not None:
        # PostgreSQL: one array per column (as Django's bulk_create does): a short statement,
        # where psycopg would otherwise parse one with a placeholder per value each time.
        size = max(1, batch_size)
        arrays = ", ".join(f"(%s)::{db_type}[]" for db_type in unnest)
        statement = f"{head}SELECT * FROM UNNEST({arrays}) {returning}"  # noqa: S608  (names from the model)
    else:
        size = max(1, min(batch_size, _max_rows(connection, fields, objs)))
        # SQLite: the statement written with its driver's placeholders and run on its cursor,
        # unless something watches the queries (a debug cursor, an execute wrapper): Django's
        # wrapper rewrites a statement's thousands of ``%s`` with a regular expression each time.
        direct = connection.vendor == "sqlite" and not connection.execute_wrappers and not connection.queries_logged
        one = f"({', '.join(['?' if direct else '%s'] * len(fields))})"
    statements: dict[int, str] = {}
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            if unnest is not None:
                cursor.execute(statement, [list(column) for column in zip(*chunk, strict=True)])
            else:
                sql = statements.get(len(chunk))
                if sql is None:
                    sql = statements[len(chunk)] = f"{head}VALUES {', '.join([one] * len(chunk))} {returning}"
                params = [value for row in chunk for value in row]
                if direct:
                    with connection.wrap_database_errors:
                        sqlite3.Cursor.execute(cursor.cursor, sql, params)
                else:
                    cursor.execute(sql, params)
            ids = [row[0] for row in cursor.fetchall()]
            if len(ids) != len(chunk):
                raise RuntimeError(f"{model.__name__}: the insert returned {len(ids)} ids for {len(chunk)} rows")
            for obj, pk in zip(objs[start : start + size], ids, strict=True):
                obj.pk = pk
                obj._state.adding = False
                obj._state.db = using
    return objs
