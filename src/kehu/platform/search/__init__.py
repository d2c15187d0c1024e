"""Global search over every registered record type: one module, two databases.

A record is indexed as one ``SearchDocument``: its number, its title (``RecordType.search_title``),
a body (the other search fields, ``search_extra`` fields, active text custom fields and the
title of its ``search_parent``), the pinyin of its title (full and initials, ``张三`` →
``zhangsan zs``) and its short terms (every CJK character and pair of characters, and the
first one and two letters of every word). Encrypted personal values (phones, emails) are never
copied into the index: they are found exactly through their blind index
(``fields.encrypted_lookup_q``).

Storage (migration ``platform/0006_search_index``):

* SQLite: FTS5 tables over the documents (external content, written with the documents in a
  few statements per batch — migration 0011 — and kept in step by a trigger on delete).
  Query words of three characters or more go to ``platform_search_fts`` (trigram tokenizer:
  any substring, any script, ranked by bm25); words of one or two characters go to
  ``platform_search_terms`` (an exact term lookup), because a trigram index cannot hold them
  and a ``LIKE`` scan reads the whole table.
* PostgreSQL: ``ILIKE`` over the document text with a pg_trgm GIN index (ranked by
  similarity), and array containment over the short terms (a generated ``text[]`` column)
  with a GIN index.

Results are the index hits intersected, in the same SQL statement, with ``visible_to(user)``
for each record type (trash excluded) — the most recently indexed ``CANDIDATE_LIMIT`` of them,
plus exact title, number and blind-index matches — ranked exact match → prefix → substring
(bm25 or similarity), grouped by record type with the count of each group.

Modules: ``text`` (pinyin, short terms, parsing a query), ``index`` (documents, keeping them
current, rebuilding), ``query`` (answering a search).

The index follows the platform events (created, updated, deleted, restored) in batches, one
statement per batch; ``index_records`` and ``remove_records`` are public for the write paths
that change records without events, and ``rebuild`` (``kehu reindex``) rebuilds it all.
"""

from kehu.platform.search.index import (
    RebuildReport,
    document_for,
    index_missing,
    index_records,
    on_records_changed,
    optimize,
    rebuild,
    remove_records,
)
from kehu.platform.search.query import (
    CANDIDATE_LIMIT,
    Group,
    Hit,
    matching_ids,
    search,
    searchable_types,
    snippet,
)
from kehu.platform.search.text import MAX_QUERY_LENGTH, Query, parse_query, pinyin_keys, short_terms

__all__ = [
    "CANDIDATE_LIMIT",
    "MAX_QUERY_LENGTH",
    "Group",
    "Hit",
    "Query",
    "RebuildReport",
    "document_for",
    "index_missing",
    "index_records",
    "matching_ids",
    "on_records_changed",
    "optimize",
    "parse_query",
    "pinyin_keys",
    "rebuild",
    "remove_records",
    "search",
    "searchable_types",
    "short_terms",
    "snippet",
]
