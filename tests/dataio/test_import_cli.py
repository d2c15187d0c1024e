"""``kehu import``: the command's options, its summary and exit status, the rejected rows file,
resuming the same file, and a run killed with SIGKILL that a second run finishes with every
row imported exactly once (against a real data directory, SQLite or PostgreSQL)."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kehu.customers.models import Customer
from kehu.dataio.imports.models import ImportJob, ImportStatus
from tests.dataio.import_support import csv_bytes

KEHU = str(Path(sys.executable).with_name("kehu"))


def kehu_import(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


@pytest.fixture
def customers_file(tmp_path: Path) -> Path:
    path = tmp_path / "客户.csv"
    rows = [
        ["客户名称", "手机", "城市"],
        ["甲公司", "13800000001", "上海"],
        ["乙公司", "12345", "北京"],
        ["丙公司", "", "广州"],
    ]
    path.write_bytes(csv_bytes(rows, encoding="gb18030"))
    return path


@pytest.mark.django_db
def test_import_prints_a_summary_writes_rejected_rows_and_exits_2(rep: Any, customers_file: Path) -> None:
    status, out, err = kehu_import("customers", str(customers_file), "--user", "rep")
    assert status == 2
    assert "2 created" in out
    assert "1 rejected" in out
    assert "手机: Enter a valid phone number." in out
    rejected = customers_file.with_name("客户.rejected.csv").read_text(encoding="utf-8-sig")
    assert rejected.splitlines()[1].startswith("3,手机: Enter a valid phone number.,乙公司,12345")
    assert "rows/s" in err
    assert set(Customer.objects.values_list("owner__username", flat=True)) == {"rep"}


@pytest.mark.django_db
def test_dry_run_mapping_file_and_options(rep: Any, customers_file: Path, tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"客户名称": "name", "手机": "", "城市": "city"}), encoding="utf-8")
    status, out, _err = kehu_import(
        "customer", str(customers_file), "--user", "rep", "--dry-run", "--mapping", str(mapping)
    )
    assert status == 0
    assert "3 would be created" in out
    assert not Customer.objects.exists()
    status, out, _err = kehu_import(
        "customer",
        str(customers_file),
        "--user",
        "rep",
        "--mapping",
        str(mapping),
        "--rejected",
        str(tmp_path / "r.csv"),
    )
    assert status == 0
    assert Customer.objects.count() == 3
    status, out, _err = kehu_import(
        "customer", str(customers_file), "--user", "rep", "--mapping", str(mapping), "--match", "name"
    )
    assert status == 0
    assert "3 skipped" in out
    assert Customer.objects.count() == 3


@pytest.mark.django_db
def test_the_same_command_again_resumes_the_unfinished_job(rep: Any, customers_file: Path) -> None:
    kehu_import("customers", str(customers_file), "--user", "rep", "--on-duplicate", "create")
    job = ImportJob.objects.get()
    Customer.objects.filter(name="丙公司").delete()
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.FAILED, processed_rows=2)  # the last batch lost
    _status, _out, err = kehu_import("customers", str(customers_file), "--user", "rep", "--on-duplicate", "create")
    assert f"Resuming import #{job.pk} after row 2" in err
    assert ImportJob.objects.count() == 1
    assert sorted(Customer.objects.values_list("name", flat=True)) == ["丙公司", "甲公司"]


@pytest.mark.django_db
def test_bad_arguments_are_refused_with_a_message(rep: Any, reader: Any, customers_file: Path, tmp_path: Path) -> None:
    for args, message in [
        (["planets", str(customers_file)], "Unknown record type"),
        (["customers", str(tmp_path / "missing.csv")], "No file"),
        (["customers", str(customers_file), "--user", "nobody"], "No active user"),
        (["customers", str(customers_file), "--user", "rep", "--match", "dna"], "Unknown --match"),
        (["customers", str(customers_file), "--user", "reader"], "permission"),
    ]:
        with pytest.raises(CommandError, match=message):
            call_command("import", *args, stdout=io.StringIO(), stderr=io.StringIO())
    (tmp_path / "x.csv").write_bytes(csv_bytes([["城市"], ["上海"]]))
    with pytest.raises(CommandError, match="required field"):
        call_command(
            "import", "customers", str(tmp_path / "x.csv"), "--user", "rep", stdout=io.StringIO(), stderr=io.StringIO()
        )
    assert not ImportJob.objects.exists()


def test_help_and_overview_list_the_command(tmp_path: Path) -> None:
    from kehu.cli import overview

    assert "import" in overview()
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["KEHU_DATA_DIR"] = str(tmp_path)
    result = subprocess.run([KEHU, "import", "--help"], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert "--on-duplicate" in result.stdout
    assert "Exit status" in result.stdout


# ---------------------------------------------------------------- SIGKILL


ROWS = 3000


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A real data directory after `kehu init` (SQLite, or a throwaway PostgreSQL database
    when the tests run on PostgreSQL)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEHU_") and k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        KEHU_DATA_DIR=str(tmp_path / "data"),
        KEHU_ADMIN_USERNAME="admin",
        KEHU_PASSWORD="Kill-test-pass-2026",
        KEHU_IMPORT_BATCH_SIZE="100",
        KEHU_TASKS_BACKEND="immediate",
    )
    url = os.environ.get("KEHU_TEST_DATABASE_URL", "")
    database = ""
    if url.startswith("postgres"):
        import psycopg

        database = f"kehu_import_kill_{uuid.uuid4().hex[:8]}"
        base = url.rsplit("/", 1)[0]
        with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{database}"')
        env["KEHU_DATABASE_URL"] = f"{base}/{database}"
    subprocess.run([KEHU, "init", "--no-input"], env=env, check=True, capture_output=True, timeout=600)
    yield env
    if database:
        import psycopg

        with psycopg.connect(f"{url.rsplit('/', 1)[0]}/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _query(env: dict[str, str], sql: str) -> list[tuple[Any, ...]]:
    if "KEHU_DATABASE_URL" in env:
        import psycopg

        with psycopg.connect(env["KEHU_DATABASE_URL"]) as connection:
            return list(connection.execute(sql).fetchall())
    connection = sqlite3.connect(Path(env["KEHU_DATA_DIR"]) / "kehu.sqlite3", timeout=30)
    try:
        return list(connection.execute(sql).fetchall())
    finally:
        connection.close()


def test_kill_9_in_the_middle_then_run_again_imports_every_row_exactly_once(
    data_dir: dict[str, str], tmp_path: Path
) -> None:
    file = tmp_path / "big.csv"
    rows = [["客户名称", "手机", "城市"]] + [[f"公司{i:05d}", f"139{i:08d}", "上海"] for i in range(ROWS)]
    file.write_bytes(csv_bytes(rows, encoding="gb18030"))
    command = [KEHU, "import", "customers", str(file), "--on-duplicate", "create"]
    process = subprocess.Popen(command, env=data_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    killed_at = None
    while time.monotonic() < deadline and process.poll() is None:
        try:
            found = _query(data_dir, "SELECT processed_rows, total_rows FROM imports_importjob")
        except Exception:  # the job's table is being written: ask again
            found = []
        if found and found[0][0] and found[0][1] and 0 < found[0][0] < found[0][1] * 0.7:
            os.kill(process.pid, signal.SIGKILL)
            killed_at = found[0][0]
            break
        time.sleep(0.05)
    process.wait(timeout=60)
    assert killed_at is not None, "the import ended before it could be killed"
    assert process.returncode == -signal.SIGKILL
    (done,) = _query(data_dir, "SELECT COUNT(*) FROM customers_customer")
    assert done[0] < ROWS
    again = subprocess.run(command, env=data_dir, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr + again.stdout
    assert "Resuming import" in again.stderr
    (counts,) = _query(
        data_dir, "SELECT COUNT(*), COUNT(DISTINCT name), COUNT(DISTINCT number) FROM customers_customer"
    )
    assert counts == (ROWS, ROWS, ROWS)
    jobs = _query(data_dir, "SELECT status, processed_rows, created_count FROM imports_importjob")
    assert jobs == [("done", ROWS, ROWS)]
    (audited,) = _query(
        data_dir, "SELECT COUNT(*) FROM platform_auditentry WHERE action = 'create' AND source = 'import'"
    )
    assert audited[0] == ROWS
    # every record findable: the documents of the batches committed before the kill included
    (indexed,) = _query(data_dir, "SELECT COUNT(*) FROM platform_searchdocument WHERE record_type = 'customer'")
    assert indexed[0] == ROWS


def test_the_progress_line_counts_the_rate_from_the_start_of_the_run() -> None:
    import importlib
    from types import SimpleNamespace

    Progress = importlib.import_module("kehu.dataio.imports.management.commands.import").Progress
    stream = io.StringIO()
    progress = Progress(stream, first=1_000)  # a resumed job: 1,000 rows done before this run
    progress.started -= 2.0  # two seconds into the run, its first batch written
    progress(SimpleNamespace(processed_rows=3_000, total_rows=9_000, status=ImportStatus.RUNNING))

    line = stream.getvalue()
    assert "3,000/9,000 rows" in line
    rate = int(line.split(" rows/s")[0].split()[-1].replace(",", ""))
    assert 900 <= rate <= 1_000  # 2,000 rows in two seconds and a little
    assert "ETA 0:06" in line or "ETA 0:07" in line  # 6,000 rows left
