"""The bulk paths that fill a new database's search index and timelines at once (``kehu bench
generate``): they leave the documents, the full-text index and the entries that the per-type
rebuilds leave, and the index keeps following writes afterwards."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from kehu.bench.generate import Generator, Volumes
from kehu.customers.models import Customer
from kehu.customers.records import CUSTOMER
from kehu.platform import search, timeline
from kehu.platform.models import SearchDocument, Tag, TimelineEntry
from kehu.platform.records import registry
from kehu.platform.search import index
from kehu.platform.tags.services import through_table
from tests.search_support import assert_fts_in_step

pytestmark = pytest.mark.django_db

ANCHOR = date(2026, 11, 1)
QUERIES = ["有限公司", "科技", "张", "Pacific", "zhang", "回访", "C-0000", "139"]


def _documents() -> list[tuple[Any, ...]]:
    return list(
        SearchDocument.objects.order_by("record_type", "record_id").values_list(
            "record_type", "record_id", "number", "title", "pinyin", "body", "terms"
        )
    )


def _answers(user: Any) -> dict[str, list[tuple[str, int, list[int]]]]:
    """What the search answers (groups, counts, hits in rank order) and the bare FTS5 matches."""
    answers: dict[str, Any] = {}
    for text in QUERIES:
        groups = search.search(user, text, limit=20)
        answers[text] = [(group.rt.key, group.count, [hit.id for hit in group.hits]) for group in groups]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            for text in ("有限公司", "Pacific", "回访"):
                cursor.execute(
                    "SELECT rowid FROM platform_search_fts WHERE platform_search_fts MATCH %s ORDER BY rowid",
                    [f'"{text}"'],
                )
                answers[f"fts {text}"] = [row[0] for row in cursor.fetchall()]
            for term in ("科", "张"):
                cursor.execute(
                    "SELECT rowid FROM platform_search_terms WHERE platform_search_terms MATCH %s ORDER BY rowid",
                    [f'"{term}"'],
                )
                answers[f"terms {term}"] = [row[0] for row in cursor.fetchall()]
    return answers


def _by_record(answers: dict[str, Any]) -> dict[str, Any]:
    """The FTS5 answers as (record type, id) instead of the documents' row ids."""
    ids = dict(SearchDocument.objects.values_list("pk", "record_type"))
    records = dict(SearchDocument.objects.values_list("pk", "record_id"))
    return {
        key: sorted((ids[rowid], records[rowid]) for rowid in value) if key.startswith(("fts", "terms")) else value
        for key, value in answers.items()
    }


def test_a_bulk_built_search_index_holds_and_answers_what_the_per_type_rebuild_does() -> None:
    Generator(Volumes(40), seed=4, anchor=ANCHOR).run()  # fills the empty index with bulk_rebuild
    first, second = Customer.objects.order_by("pk")[:2]
    Customer.objects.filter(pk=first.pk).update(deleted_at=timezone.now())  # in the trash: no document
    tag = Tag.objects.create(name="重点 VIP")
    through, column = through_table(CUSTOMER)
    through.objects.create(**{column: second.pk, "tag_id": tag.pk})
    SearchDocument.objects.all().delete()
    admin = second.owner.__class__.objects.get(username="bench-admin")

    reports = index.bulk_rebuild()
    bulk_documents, bulk_answers = _documents(), _by_record(_answers(admin))
    for rt in registry:
        index.rebuild(rt)
    index.optimize()

    assert sum(report.rows for report in reports) == SearchDocument.objects.count() > 40
    assert bulk_documents == _documents()
    assert bulk_answers == _by_record(_answers(admin))
    assert not SearchDocument.objects.filter(record_type="customer", record_id=first.pk).exists()
    assert "重点 VIP" in SearchDocument.objects.get(record_type="customer", record_id=second.pk).body
    assert_fts_in_step()


def _in_order() -> list[tuple[Any, ...]]:
    """The documents in the order they were written."""
    return list(SearchDocument.objects.order_by("pk").values_list("record_type", "record_id", "body", "terms"))


@pytest.mark.django_db(transaction=True)  # the workers read committed records on connections of their own
def test_documents_built_by_worker_processes_are_those_built_here_in_the_same_order(
    monkeypatch: Any, rep: Any, make_customer: Any, make_contact: Any
) -> None:
    # Records made by the services (a flushed transactional database has no generated ones)
    for i in range(24):
        customer = make_customer(rep, name=f"{'华东精密' if i % 2 else 'Pacific Trading'} {i} 有限公司", city="上海")
        if i % 3 == 0:
            make_contact(rep, customer, name=f"张{i}", title="采购经理")
    pools: list[Any] = []
    make_pool = index._document_pool
    monkeypatch.setattr(index, "_document_pool", lambda workers: pools.append(make_pool(workers)) or pools[-1])
    SearchDocument.objects.all().delete()
    here = index.bulk_rebuild(workers=1, batch_size=5)  # small ranges: many jobs, several in flight
    built_here = _in_order()
    SearchDocument.objects.all().delete()

    pooled = index.bulk_rebuild(workers=2, batch_size=5)

    assert pools[-1] is not None  # forked
    assert pools[-1].workers == 2
    assert _in_order() == built_here
    assert [(r.record_type, r.rows) for r in pooled] == [(r.record_type, r.rows) for r in here]
    assert {r.record_type: r.rows for r in pooled}["customer"] == 24
    assert {r.record_type: r.rows for r in pooled}["contact"] == 8
    assert [hit.title for group in search.search(rep, "华东精密 23", limit=5) for hit in group.hits] == [
        "华东精密 23 有限公司"
    ]


def test_a_bulk_rebuild_inside_a_transaction_builds_its_documents_here() -> None:
    """Worker processes could not see records not yet committed: the rebuild does not fork."""
    assert connection.in_atomic_block
    assert index._document_pool(2) is None


def test_after_a_bulk_build_the_index_follows_new_records(
    rep: Any, make_customer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    Generator(Volumes(20), seed=6, anchor=ANCHOR).run()

    with django_capture_on_commit_callbacks(execute=True):  # the index follows commits
        make_customer(rep, name="滨江新锐实业有限公司")

    assert [hit.title for group in search.search(rep, "新锐实业") for hit in group.hits] == ["滨江新锐实业有限公司"]
    assert [hit.title for group in search.search(rep, "bjxr") for hit in group.hits] == ["滨江新锐实业有限公司"]


def _entries() -> list[tuple[Any, ...]]:
    return sorted(
        TimelineEntry.objects.filter(origin=TimelineEntry.Origin.RECORD).values_list(
            "subject_type",
            "subject_id",
            "kind",
            "occurred_at",
            "record_type",
            "record_id",
            "actor_id",
            "title",
            "summary",
            "data",
        ),
        key=repr,
    )


def _refreshed() -> list[tuple[Any, ...]]:
    for source in timeline.sources():
        model = registry[source.record_type].model
        timeline.refresh(source.record_type, list(model.objects.values_list("pk", flat=True)))
    return _entries()


def test_generated_timelines_hold_the_entries_that_refresh_writes() -> None:
    generator = Generator(Volumes(30), seed=8, anchor=ANCHOR)
    generator.run()  # entries written with the records where the instances allow, else rebuilt

    generated = _entries()

    assert {"customer", "contact", "interaction"} <= generator.timeline_written  # with their records
    assert {"task", "opportunity", "order"} <= generator.timeline_missed  # rebuilt
    assert len(generated) > 30 * 10
    assert {entry[2] for entry in generated} >= {"created", "contact", "interaction", "task", "order", "payment"}
    assert generated == _refreshed()


def test_timeline_rebuild_writes_the_entries_that_refresh_writes() -> None:
    Generator(Volumes(30), seed=9, anchor=ANCHOR).run()
    TimelineEntry.objects.all().delete()
    Customer.objects.filter(pk=Customer.objects.order_by("pk")[0].pk).update(deleted_at=timezone.now())

    written = sum(timeline.rebuild(source.record_type) for source in timeline.sources())
    rebuilt = _entries()

    assert written == len(rebuilt) > 30 * 10
    assert rebuilt == _refreshed()
