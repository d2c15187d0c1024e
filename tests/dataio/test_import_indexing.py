"""An import's new records are indexed for search by another process, batch after batch
(``search.index.background_indexing``): the documents are the ones a reindex makes, all written
when the import ends, and a failure there leaves the importing process to write them."""

from __future__ import annotations

import logging
import multiprocessing
from typing import Any

import pytest

from kehu.customers.models import Customer
from kehu.customers.records import CUSTOMER
from kehu.dataio.imports.models import ImportStatus
from kehu.platform import processes, search
from kehu.platform.models import SearchDocument
from kehu.platform.search import index
from tests.dataio.import_support import csv_bytes, run
from tests.search_support import assert_fts_in_step

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the indexing process sees committed records only
    pytest.mark.skipif(
        processes.cpus() < 2 or "fork" not in multiprocessing.get_all_start_methods(),
        reason="indexing in another process needs two CPUs and fork()",
    ),
]

HEADERS = ["客户名称", "手机号码", "城市", "详细地址", "标签", "备注"]


def rows(count: int) -> list[list[Any]]:
    return [
        HEADERS,
        *(
            [f"杭州西湖茶叶贸易有限公司{i}", f"1380000{i:04d}", "杭州", f"龙井路{i}号", "重点" * (i % 2), "老客户"]
            for i in range(count)
        ),
    ]


def documents() -> list[tuple[Any, ...]]:
    columns = ("record_type", "record_id", "number", "title", "pinyin", "body", "terms")
    return list(SearchDocument.objects.order_by("record_type", "record_id").values_list(*columns))


def test_an_import_has_another_process_write_the_documents_a_reindex_makes(
    rep: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.KEHU_IMPORT_BATCH_SIZE = 50
    submitted: list[tuple[str, int]] = []
    submit = index.BackgroundIndexer.submit

    def counted(self: index.BackgroundIndexer, record_type: str, ids: list[int]) -> None:
        submitted.append((record_type, len(ids)))
        submit(self, record_type, ids)

    monkeypatch.setattr(index.BackgroundIndexer, "submit", counted)

    job = run(rep, csv_bytes(rows(130)), configure={"match_on": ["phone"]})

    assert job.status == ImportStatus.DONE
    assert job.created_count == 130
    assert submitted == [("customer", 50), ("customer", 50), ("customer", 30)]
    written = documents()
    assert len(written) == 130
    assert_fts_in_step()
    hits = search.search(rep, "茶叶贸易有限公司129")
    assert [hit.title for group in hits for hit in group.hits][:1] == ["杭州西湖茶叶贸易有限公司129"]
    search.index_records(CUSTOMER, Customer.objects.values_list("pk", flat=True))
    assert documents() == written


def _fails(record_type: str, ids: list[int]) -> int:
    raise RuntimeError("the indexing process failed")


def test_documents_the_other_process_failed_to_write_are_written_by_the_import(
    rep: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings.KEHU_IMPORT_BATCH_SIZE = 40
    monkeypatch.setattr(index, "_index_committed", _fails)  # before the fork: the process has it too

    with caplog.at_level(logging.ERROR, logger="kehu.platform.search.index"):
        job = run(rep, csv_bytes(rows(90)), configure={"match_on": ["phone"]})

    assert job.status == ImportStatus.DONE
    assert job.created_count == 90
    assert len(documents()) == 90
    assert_fts_in_step()
    assert sum("indexing them here" in record.getMessage() for record in caplog.records) == 3
