"""Answering a search: one SQL statement for every record type, hits limited to what the user
may see, ranked and grouped, with each group's count."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils.translation import gettext as _

from kehu.platform.access import can, visible_to
from kehu.platform.fields import encrypted_lookup_qs
from kehu.platform.records import RecordType, registry
from kehu.platform.search.text import Query, parse_query

EXACT_LOOKUP_LIMIT = 100  # blind-index hits per record type
# Text matches ranked per search: when more records match, the most recently changed are
# ranked (exact title and number matches always are) and the counts are lower bounds.
CANDIDATE_LIMIT = 500


@dataclass
class Hit:
    rt: RecordType
    id: int
    number: str
    title: str
    snippet: str

    @property
    def url(self) -> str:
        return reverse(f"{self.rt.plural}_detail", args=[self.id])


@dataclass
class Group:
    """The hits of one record type. ``count`` is exact unless ``capped``: more records matched
    than a search ranks (``CANDIDATE_LIMIT``), and ``count`` is then a lower bound."""

    rt: RecordType
    count: int
    capped: bool = False
    hits: list[Hit] = field(default_factory=list)

    @property
    def more(self) -> bool:
        return self.capped or self.count > len(self.hits)


def searchable_types(actor: Any, types: Iterable[str] | None = None) -> list[RecordType]:
    """The record types ``actor`` (a user, or a Context with its API token) may search, in
    registry order; ``types`` narrows them. Raises ValidationError for an unknown type and
    PermissionDenied for a type the actor may not view or when nothing is left."""
    wanted = None if types is None else list(dict.fromkeys(types))
    if wanted is not None:
        unknown = [key for key in wanted if registry.get(key) is None]
        if unknown:
            raise ValidationError(
                {
                    "type": _("Unknown record type %(types)s; choose from: %(choices)s.")
                    % {"types": ", ".join(unknown), "choices": ", ".join(rt.key for rt in registry)}
                }
            )
        denied = [key for key in wanted if not can(actor, registry[key], "view")]
        if denied:
            raise PermissionDenied(
                _("You do not have permission to search %(types)s.")
                % {"types": ", ".join(str(registry[key].label_plural) for key in denied)}
            )
    found = [rt for rt in registry if (wanted is None or rt.key in wanted) and can(actor, rt, "view")]
    if not found:
        raise PermissionDenied(_("You do not have permission to search any records."))
    return found


def search(actor: Any, text: str, *, types: Iterable[str] | None = None, limit: int = 8) -> list[Group]:
    """Search the records ``actor`` may see: groups in registry order, each with its total
    count and its best ``limit`` hits (exact number or title first, then prefixes, then the
    rest by relevance). Types with nothing found are left out. Raises ValidationError for a
    bad query or type, PermissionDenied when the actor may search nothing (or not ``types``)."""
    query = parse_query(text)
    record_types = searchable_types(actor, types)
    user = getattr(actor, "user", actor)
    exact = _exact_hits(user, record_types, query.raw)
    if query.empty and not exact:
        return []
    sql, params = _statement(user, record_types, query, exact, max(1, int(limit)))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    groups: dict[str, Group] = {}
    for key, record_id, number, title, body, total, candidates in rows:
        rt = registry[key]
        group = groups.setdefault(key, Group(rt, int(total), capped=int(candidates) >= CANDIDATE_LIMIT))
        group.hits.append(Hit(rt, int(record_id), number, title, snippet(body, query.needles)))
    return [groups[rt.key] for rt in record_types if rt.key in groups]


def _exact_hits(user: Any, record_types: Sequence[RecordType], text: str) -> dict[str, list[int]]:
    """Records whose encrypted search fields equal ``text`` (a phone in any format, an email
    in any case), found through the blind index and limited to what ``user`` may see."""
    found: dict[str, list[int]] = {}
    for rt in record_types:
        # The few equal values first, one blind index at a time, then which of them the user
        # may see. In one query the planner may scan instead: an OR of two blind indexes where
        # one is mostly empty (contacts' landlines), or starting from the visible rows (all of
        # a team's contacts): 90 ms at 200,000 contacts instead of 1.
        candidates: set[int] = set()
        for condition in encrypted_lookup_qs(rt, text):
            equal = rt.model.objects.filter(condition).order_by().values_list("pk", flat=True)
            candidates.update(equal[: EXACT_LOOKUP_LIMIT * 10])
        if not candidates:
            continue
        visible = visible_to(user, rt.model.objects.filter(pk__in=candidates), rt).order_by()
        ids = sorted(visible.values_list("pk", flat=True), reverse=True)[:EXACT_LOOKUP_LIMIT]
        if ids:
            found[rt.key] = ids
    return found


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def fts_phrase(words: Iterable[str]) -> str:
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def _visibility(user: Any, record_types: Sequence[RecordType]) -> tuple[str, list[Any]]:
    """The condition that document ``d`` belongs to a record out of the trash that ``user``
    may see: ``visible_to`` of each record type, as correlated ``EXISTS`` subqueries."""
    parts, params = [], []
    for rt in record_types:
        queryset = visible_to(user, rt.model.objects.filter(pk=RawSQL("d.record_id", ())), rt)
        sql, sql_params = queryset.order_by().values("pk").query.sql_with_params()
        parts.append(f"(d.record_type = %s AND EXISTS ({sql}))")
        params.extend([rt.key, *sql_params])
    return f"({' OR '.join(parts)})", params


def _sqlite_match(query: Query) -> tuple[str, list[str], list[Any]]:
    """SQLite: the full-text table to read (alias ``f``, joined on ``f.rowid``) and the
    conditions that every word of ``query`` is in the document."""
    table = "platform_search_fts" if query.phrases else "platform_search_terms"
    where = [f"{table} MATCH %s"]
    params: list[Any] = [fts_phrase(query.phrases or query.terms)]
    if query.phrases and query.terms:
        # "+": a filter on the phrase's matches, not a rowid constraint for the full-text table,
        # which would drive the loop from every document holding the term (a one-letter term
        # holds a third of them: 30 s at 1.5 million documents instead of 2 ms).
        where.append("+f.rowid IN (SELECT rowid FROM platform_search_terms WHERE platform_search_terms MATCH %s)")
        params.append(fts_phrase(query.terms))
    return table, where, params


def _postgresql_match(query: Query) -> tuple[list[str], list[Any]]:
    """PostgreSQL: the conditions on document ``m`` that every word of ``query`` is in it
    (pg_trgm and GIN indexes)."""
    where: list[str] = []
    params: list[Any] = []
    for phrase in query.phrases:
        where.append("(m.number || ' ' || m.title || ' ' || m.body || ' ' || m.pinyin) ILIKE %s")
        params.append(f"%{_like_escape(phrase)}%")
    if query.terms:
        where.append("m.terms_array @> %s::text[]")  # generated column (migration 0006)
        params.append(list(query.terms))
    return where, params


def _text_hits(query: Query, visible: str, visible_params: list[Any]) -> tuple[str, list[Any]]:
    """The visible documents matching every word of ``query``, the most recently indexed
    first, at most ``CANDIDATE_LIMIT`` of them: ``(id, score, exact)`` rows."""
    if connection.vendor == "sqlite":
        table, where, params = _sqlite_match(query)
        score = "bm25(platform_search_fts, 8.0, 4.0, 1.0, 2.0)" if query.phrases else "0.0"
        sql = (
            f"SELECT f.rowid AS id, {score} AS score, 0 AS exact "  # noqa: S608 -- values are parameters
            f"FROM {table} f JOIN platform_searchdocument d ON d.id = f.rowid "
            f"WHERE {' AND '.join(where)} AND {visible} ORDER BY f.rowid DESC LIMIT %s"
        )
        return sql, [*params, *visible_params, CANDIDATE_LIMIT]
    # PostgreSQL: the matches as a subquery (GIN indexes) the planner can hash while it walks the
    # newest documents. With a substring (ILIKE) the subquery is fenced off (OFFSET 0): otherwise
    # the planner may test ILIKE on every document it walks, which is slow unless most match.
    where, params = _postgresql_match(query)
    fence = " OFFSET 0" if query.phrases else ""
    sql = (
        "SELECT d.id AS id, -similarity(d.title, %s) AS score, 0 AS exact FROM platform_searchdocument d "  # noqa: S608
        f"WHERE d.id IN (SELECT m.id FROM platform_searchdocument m WHERE {' AND '.join(where)}{fence}) "
        f"AND {visible} ORDER BY d.id DESC LIMIT %s"
    )
    return sql, [query.text, *params, *visible_params, CANDIDATE_LIMIT]


def matching_ids(rt: RecordType, text: str) -> RawSQL | None:
    """The ids of ``rt`` records whose search document holds every word of ``text`` (names,
    notes, custom text, tags, pinyin of the title), uncapped, as a subquery for
    ``pk__in``: how a list's ``q`` finds what the global search finds. ``None`` for a query
    without words; raises ValidationError for a bad query."""
    query = parse_query(text)
    if query.empty:
        return None
    if connection.vendor == "sqlite":
        table, where, params = _sqlite_match(query)
        # CROSS JOIN: SQLite joins in this order, the matches first. Left to choose, without
        # statistics it walked every document of the type and asked the index about each
        # (a contact list searched for a phone number at 200,000 contacts: minutes).
        sql = (
            f"SELECT d.record_id FROM {table} f CROSS JOIN platform_searchdocument d ON d.id = f.rowid "  # noqa: S608
            f"WHERE {' AND '.join(where)} AND d.record_type = %s"
        )
    else:
        where, params = _postgresql_match(query)
        sql = f"SELECT m.record_id FROM platform_searchdocument m WHERE {' AND '.join(where)} AND m.record_type = %s"  # noqa: S608
    return RawSQL(sql, (*params, rt.key))  # noqa: S611 -- the words are parameters


_RANKING = r"""
    found AS (SELECT id, MIN(score) AS score, MAX(exact) AS exact FROM hits GROUP BY id),
    ranked AS (
        SELECT d.id, d.record_type, d.record_id, d.title, found.score,
            CASE
                WHEN found.exact = 1 OR (' ' || d.pinyin || ' ') LIKE %s ESCAPE '\' THEN 0
                WHEN lower(d.title) LIKE %s ESCAPE '\' OR lower(d.number) LIKE %s ESCAPE '\'
                    OR (' ' || d.pinyin) LIKE %s ESCAPE '\' THEN 1
                ELSE 2
            END AS tier
        FROM found JOIN platform_searchdocument d ON d.id = found.id
    ),
    numbered AS (
        SELECT ranked.*,
            ROW_NUMBER() OVER (PARTITION BY record_type ORDER BY tier, score, length(title), record_id) AS position,
            COUNT(*) OVER (PARTITION BY record_type) AS total
        FROM ranked
    )
    SELECT n.record_type, n.record_id, d.number, d.title, d.body, n.total,
        (SELECT COUNT(*) FROM hits WHERE exact = 0) AS candidates
    FROM numbered n JOIN platform_searchdocument d ON d.id = n.id
    WHERE n.position <= %s
    ORDER BY n.record_type, n.position
"""


def _statement(
    user: Any, record_types: Sequence[RecordType], query: Query, exact: dict[str, list[int]], limit: int
) -> tuple[str, list[Any]]:
    """One statement for every record type: the candidates (text matches, exact title and
    number matches, blind-index matches), all visible to ``user``; ranked and numbered per
    type, with each type's count and the number of text matches (to tell a capped count)."""
    visible, visible_params = _visibility(user, record_types)
    parts: list[str] = []
    params: list[Any] = []
    if not query.empty:
        sql, text_params = _text_hits(query, visible, visible_params)
        parts.append(f"SELECT * FROM ({sql}) AS text_hits")  # noqa: S608 -- values are parameters
        params.extend(text_params)
    parts.append(
        "SELECT d.id, -1000000.0 AS score, 1 AS exact FROM platform_searchdocument d "  # noqa: S608
        f"WHERE (lower(d.title) = %s OR lower(d.number) = %s) AND {visible}"
    )
    params.extend([query.text, query.text, *visible_params])
    for key, ids in exact.items():  # already limited to visible records
        marks = ", ".join(["%s"] * len(ids))
        parts.append(
            "SELECT d.id, -1000000.0 AS score, 1 AS exact FROM platform_searchdocument d "  # noqa: S608
            f"WHERE d.record_type = %s AND d.record_id IN ({marks})"
        )
        params.extend([key, *ids])
    text = _like_escape(query.text)
    params.extend([f"% {text} %", f"{text}%", f"{text}%", f"% {text}%", limit])
    # SQLite: bm25() works only in the statement that holds the MATCH, so the candidates are
    # materialized rather than merged into the ranking query.
    materialized = "MATERIALIZED " if connection.vendor == "sqlite" else ""
    return f"WITH hits AS {materialized}({' UNION ALL '.join(parts)}),{_RANKING}", params


def snippet(body: str, needles: Sequence[str], width: int = 90) -> str:
    """A piece of ``body`` around the first word found, or its beginning."""
    if not body:
        return ""
    lowered = body.lower()
    positions = [pos for pos in (lowered.find(needle) for needle in needles if needle) if pos >= 0]
    start = max(0, min(positions) - width // 3) if positions else 0
    end = min(len(body), start + width)
    start = max(0, min(start, end - width))
    piece = body[start:end].strip()
    return f"{'…' if start > 0 else ''}{piece}{'…' if end < len(body) else ''}"
