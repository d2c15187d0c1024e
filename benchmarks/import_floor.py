"""The floor of an import on SQLite: what writing the rows an imported customer brings costs
the database alone, with no Python work per row.

One customer is created through the real service (``customer_create``: the record, its audit
entry, its first lifecycle transition, its "created" timeline entry and its search document),
then each of those rows is copied N times with new ids by ``sqlite3`` ``executemany`` into the
same tables (every index and trigger in place), one transaction per table; the search
documents' FTS5 entries are written as ``platform/search/index.py`` writes them (an
``INSERT … SELECT`` per FTS5 table for all the new documents). Prints microseconds per row
and rows per second for each table and in sum: the rate no import that writes these rows
synchronously can pass on this machine, however little Python it runs.

    .venv/bin/python benchmarks/import_floor.py [--rows 20000]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

# (label, table, the column holding the record's id or None, the column to make unique or None,
#  statements to run after the rows, given the first new id)
TABLES = [
    ("customer record", "customers_customer", "id", "number", []),
    ("audit entry", "platform_auditentry", "object_id", None, []),
    ("lifecycle transition", "customers_lifecycletransition", "customer_id", None, []),
    ("timeline entry", "platform_timelineentry", "subject_id", None, []),
    (
        "search document and FTS5 entries",
        "platform_searchdocument",
        "record_id",
        "title",
        [
            "INSERT INTO platform_search_fts(rowid, number, title, body, pinyin) "
            "SELECT id, number, title, body, pinyin FROM platform_searchdocument WHERE id >= ?",
            "INSERT INTO platform_search_terms(rowid, terms) "
            "SELECT id, terms FROM platform_searchdocument WHERE id >= ?",
        ],
    ),
]


def one_customer(data_dir: str) -> Path:
    """A migrated database in ``data_dir`` holding one customer made by the real service."""
    os.environ["KEHU_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    os.environ.setdefault("KEHU_TASKS_BACKEND", "immediate")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from kehu.accounts.services import user_create
    from kehu.customers.services import customer_create
    from kehu.platform.context import Context, Source

    admin = user_create(username="floor-admin", password="Floor-pass-2026", role="admin")
    customer_create(
        ctx=Context(user=admin, source=Source.IMPORT),
        data={
            "name": "上海华东精密机械有限公司",
            "phone": "13812345678",
            "email": "sales@huadong-jixie.cn",
            "industry": "制造业",
            "city": "上海",
            "province": "上海",
            "district": "浦东新区",
            "street": "张江路 88 号",
            "notes": "从旧系统导入的客户，年度采购约 200 万元。",
        },
    )
    connection.close()
    return Path(data_dir) / "kehu.sqlite3"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    path = one_customer(tempfile.mkdtemp(prefix="kehu-import-floor-"))
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA foreign_keys = OFF")
    total = 0.0
    print(f"{args.rows:,} rows per table, SQLite {sqlite3.sqlite_version}")
    for label, table, ref, unique, after in TABLES:
        columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
        sample = db.execute(f"SELECT * FROM {table} ORDER BY id LIMIT 1").fetchone()
        if sample is None:
            print(f"{label:34s} (no row made by the service)")
            continue
        first = db.execute(f"SELECT max(id) FROM {table}").fetchone()[0] + 1
        record_id = db.execute("SELECT max(id) FROM customers_customer").fetchone()[0]

        def rows(columns=columns, sample=sample, first=first, record_id=record_id, ref=ref, unique=unique):
            for i in range(args.rows):
                row = list(sample)
                row[0] = first + i
                if ref is not None:
                    row[columns.index(ref)] = record_id + 1 + i
                if unique is not None:
                    row[columns.index(unique)] = f"{row[columns.index(unique)]}{i}"
                yield row

        marks = ", ".join("?" * len(columns))
        db.execute("BEGIN")
        started = time.perf_counter()
        db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows())
        for statement in after:
            db.execute(statement, [first])
        db.execute("COMMIT")
        seconds = time.perf_counter() - started
        total += seconds
        print(f"{label:34s} {seconds / args.rows * 1e6:7.1f} µs/row {args.rows / seconds:9,.0f} rows/s")
    print(f"{'all of them':34s} {total / args.rows * 1e6:7.1f} µs/row {args.rows / total:9,.0f} customers/s")


if __name__ == "__main__":
    main()
