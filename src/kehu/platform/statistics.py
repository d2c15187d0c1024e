"""The query planner's statistics.

SQLite plans from fixed guesses until ``ANALYZE`` has measured the tables and indexes. With the
measures it answers a salesperson's list — owner or team, a filter, the count — from the owner
and team indexes instead of walking every record with the filter's value (a rep's active
customers at medium scale: the count in 7.5 instead of 37 ms). PostgreSQL's autovacuum keeps
its statistics by itself; an ``ANALYZE`` after a large import or a generation only brings them
up to date sooner.

One correction on SQLite: a blind index (phones, emails) holds '' for every record without
the value, so ``ANALYZE`` finds, say, 200,000 contacts per key where no contact has a
landline, and the planner would rather walk the table than look a number up. Lookups never ask
for '': a key that is found names one record or a few, and that is the statistic written for
those indexes.

``refresh`` runs nightly (the ``planner_statistics`` housekeeping sweep) and after
``kehu bench generate``."""

from __future__ import annotations

import time
from typing import Any

from django.apps import apps
from django.db import connection
from django_tasks import task

from kehu.platform import housekeeping
from kehu.platform.fields import encrypted_fields


def _blind_indexes(cursor: Any) -> list[tuple[str, str]]:
    """(table, index) of every single-column index on a blind index column."""
    found = []
    for model in apps.get_models():
        fields = encrypted_fields(model)
        if not fields or model._meta.proxy or not model._meta.managed:
            continue
        table = model._meta.db_table
        names = {field.index_name for field in fields}
        columns = {f.column for f in model._meta.concrete_fields if f.name in names}
        for index, info in connection.introspection.get_constraints(cursor, table).items():
            if info["index"] and len(info["columns"]) == 1 and info["columns"][0] in columns:
                found.append((table, index))
    return found


def refresh() -> float:
    """Measure every table for the planner (``ANALYZE``), on SQLite with the blind indexes'
    statistics corrected; returns the seconds it took."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # Table by table, each in a transaction of its own: ANALYZE holds the write lock
            # while it reads, and writers wait at most for the largest table, not for all.
            # (``PRAGMA analysis_limit`` would be quicker but samples the first entries of each
            # index only: owners, teams and stages then all look alike and the plans fall back.)
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name"
            )
            for (table,) in cursor.fetchall():
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
        else:
            cursor.execute("ANALYZE")
        if connection.vendor == "sqlite":
            for table, index in _blind_indexes(cursor):
                cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s AND idx = %s", [table, index])
                row = cursor.fetchone()
                if row is not None:
                    rows = str(row[0]).split()[0]
                    cursor.execute(
                        "UPDATE sqlite_stat1 SET stat = %s WHERE tbl = %s AND idx = %s", [f"{rows} 1", table, index]
                    )
            cursor.execute("ANALYZE sqlite_schema")  # the planner reads the corrected figures
    return time.perf_counter() - started


@task()
def refresh_task() -> float:
    return round(refresh(), 2)


housekeeping.register("planner_statistics", refresh_task, cron="30 3 * * *")
