"""Helpers of the tests that write search documents."""

from __future__ import annotations

from django.db import connection

from kehu.platform.search.index import _FTS_TABLES


def assert_fts_in_step() -> None:
    """SQLite: FTS5's own check of its tables against the documents (rank 1: compare with the
    content; raises "malformed" when they disagree). Nothing to check on PostgreSQL."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for table, _columns in _FTS_TABLES:
            cursor.execute(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)")
