"""Import at scale: a customer CSV of N rows in GB18030 with Chinese headers, imported through
the real path (``import_run``: conversion, validation with the forms' rules, encryption and
blind indexes, duplicate checks, audit entries, the search documents and timeline entries
written in each batch's transaction, one event per record), against the raw-SQL baseline of
the same rows.

    .venv/bin/python benchmarks/import_bench.py --rows 100000 [--rows 200000] [--profile]
    createdb kehu_bench && KEHU_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/kehu_bench \
        .venv/bin/python benchmarks/import_bench.py --rows 100000 --data-dir /tmp/kehu-bench

Each size runs in a child process of its own (a fresh data directory and database, so the peak
RSS is that run's): the file is written with Faker zh_CN (companies, mobile and landline phones,
emails, cities, provinces, addresses, industries, sources, tags, notes), then imported as an
admin with duplicates matched on phone and email (``--match`` to change). The baseline inserts
the same rows with ``sqlite3`` ``executemany`` into a table created with the customers table's
own DDL and indexes (plain text, no encryption, no checks). Prints rows/s, peak RSS and the
ratio; ``--profile`` writes the cProfile statistics of the import (top 25 by own time).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

HEADERS = ["客户名称", "手机", "电子邮件", "所属行业", "城市", "省份", "详细地址", "邮编", "客户来源", "标签", "备注"]
INDUSTRIES = ["制造业", "软件", "贸易", "物流", "医疗", "教育", "餐饮", "建筑", "新能源", "金融服务"]
SOURCES = ["网站", "转介绍", "展会", "电话营销", "广告", "合作伙伴", "社交媒体", "其他", ""]
TAGS = ["重点", "华东", "华南", "华北", "VIP", "", "", ""]


def write_file(path: Path, rows: int, seed: int) -> None:
    """``rows`` customers in GB18030 with Chinese headers (Excel in China)."""
    from faker import Faker

    fake = Faker("zh_CN")
    Faker.seed(seed)
    rng = random.Random(seed)
    with path.open("w", encoding="gb18030", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for index in range(rows):
            roll = rng.random()
            phone = (
                fake.phone_number()
                if roll < 0.8
                else (
                    fake.phone_number()[:3] + " " + fake.phone_number()[3:7] + " " + fake.phone_number()[7:]
                    if roll < 0.9
                    else ""
                )
            )
            writer.writerow(
                [
                    f"{fake.company()}{index}",
                    phone,
                    f"user{index}@{fake.free_email_domain()}" if rng.random() < 0.7 else "",
                    rng.choice(INDUSTRIES),
                    fake.city_name(),
                    fake.province(),
                    fake.street_address(),
                    fake.postcode(),
                    rng.choice(SOURCES),
                    rng.choice(TAGS),
                    fake.sentence() if rng.random() < 0.3 else "",
                ]
            )


def setup(data_dir: str) -> None:
    os.environ["KEHU_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    os.environ.setdefault("KEHU_TASKS_BACKEND", "immediate")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql" and connection.introspection.table_names():
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    call_command("migrate", verbosity=0)


def baseline(path: Path, rows: int) -> float:
    """Seconds to insert the file's rows with sqlite3 executemany into a table made with the
    customers table's own DDL and indexes (in a scratch database)."""
    import sqlite3

    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor != "sqlite":
            return 0.0
        cursor.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'customers_customer' AND sql IS NOT NULL ORDER BY type DESC"
        )
        ddl = [row[0] for row in cursor.fetchall()]
    scratch = Path(tempfile.mkdtemp(prefix="kehu-bench-raw-")) / "raw.sqlite3"
    raw = sqlite3.connect(scratch)
    for statement in ddl:
        raw.execute(statement)
    raw.execute("PRAGMA foreign_keys = OFF")
    started = time.perf_counter()
    with path.open(encoding="gb18030", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        now = "2026-01-01 00:00:00"
        data = (
            (
                f"C-{i:06d}",
                1,
                None,
                now,
                1,
                now,
                1,
                1,
                "{}",
                None,
                None,
                "company",
                r[0],
                r[3],
                "",
                r[8],
                r[1],
                r[1],
                r[2],
                r[2],
                "",
                "",
                r[5],
                r[4],
                "",
                r[6],
                r[7],
                r[10],
                "lead",
                None,
                "manual",
                None,
                None,
                "",
            )
            for i, r in enumerate(reader, start=1)
        )
        columns = [
            "number",
            "owner_id",
            "team_id",
            "created_at",
            "created_by_id",
            "updated_at",
            "updated_by_id",
            "version",
            "custom",
            "deleted_at",
            "deleted_by_id",
            "kind",
            "name",
            "industry",
            "size",
            "source",
            "phone",
            "phone_bidx",
            "email",
            "email_bidx",
            "website",
            "country",
            "province",
            "city",
            "district",
            "street",
            "postal_code",
            "notes",
            "stage_id",
            "grade_id",
            "grade_source",
            "parent_id",
            "credit_limit",
            "credit_rating",
        ]
        raw.executemany(
            f"INSERT INTO customers_customer ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", data
        )
        raw.commit()
    seconds = time.perf_counter() - started
    count = raw.execute("SELECT COUNT(*) FROM customers_customer").fetchone()[0]
    raw.close()
    shutil.rmtree(scratch.parent, ignore_errors=True)
    assert count == rows, (count, rows)
    return seconds


def peak_rss_kb() -> int:
    """This process's peak resident memory in KiB: Linux's ``VmHWM``, which belongs to the
    program exec'd here. (``ru_maxrss`` is carried over from the process that forked us: the
    suite's own, 1.5 GB after it generated the data.)"""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(args: argparse.Namespace) -> None:
    """One measured run (in its own process)."""
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="kehu-bench-import-")
    file = Path(data_dir) / f"customers-{args.rows}.csv"
    write_file(file, args.rows, args.seed)
    setup(data_dir)
    from django.db import connection

    from kehu.accounts.services import user_create
    from kehu.customers.models import Customer
    from kehu.dataio.imports import services
    from kehu.platform.context import Context, Source
    from kehu.platform.search import search

    admin = user_create(username="bench-admin", password="Bench-pass-2026", role="admin")
    ctx = Context(user=admin, source=Source.CLI)
    rss_before = peak_rss_kb()
    cpu_started = time.process_time()
    started = time.perf_counter()
    with file.open("rb") as upload:
        job = services.import_create(ctx=ctx, record_type="customer", upload=upload, file_name=file.name)
    services.import_configure(ctx=ctx, job=job, match_on=args.match.split(","))
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile(time.process_time)  # CPU time: the machine may be shared
        profiler.enable()
        job = services.import_run(job)
        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats(os.environ.get("BENCH_SORT", "tottime")).print_stats(int(os.environ.get("BENCH_TOP", "25")))
    else:
        job = services.import_run(job)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    peak = peak_rss_kb()
    assert job.status == "done", job.error
    found = search(admin, Customer.objects.order_by("-id").values_list("name", flat=True).first() or "", limit=5)
    result = {
        "rows": args.rows,
        "database": connection.vendor,
        "created": job.created_count,
        "skipped": job.skipped_count,
        "rejected": job.rejected_count,
        "seconds": round(seconds, 2),
        "rows_per_second": round(args.rows / seconds),
        "cpu_seconds": round(cpu, 1),  # this process's CPU time: the machine may be shared
        "rows_per_cpu_second": round(args.rows / cpu),
        "peak_rss_mb": round(peak / 1024),
        "rss_before_import_mb": round(rss_before / 1024),
        "search_finds_last_record": bool(found),
    }
    raw = baseline(file, args.rows)
    if raw:
        result["raw_seconds"] = round(raw, 2)
        result["raw_rows_per_second"] = round(args.rows / raw)
        result["ratio"] = round(seconds / raw, 1)
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, action="append", help="rows per run (repeat: 100000 and 200000)")
    parser.add_argument("--match", default="phone,email", help="duplicate keys (default phone,email)")
    parser.add_argument("--data-dir", help="data directory (default: a new temporary one per run)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--profile", action="store_true", help="print the cProfile top 25 of the import")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.rows = args.rows[0]
        child(args)
        return
    for rows in args.rows or [100_000]:
        command = [
            sys.executable,
            __file__,
            "--child",
            "--rows",
            str(rows),
            "--match",
            args.match,
            "--seed",
            str(args.seed),
        ]
        if args.data_dir:
            command += ["--data-dir", args.data_dir]
        if args.profile:
            command.append("--profile")
        output = subprocess.run(command, check=True, capture_output=not args.profile, text=True)
        if args.profile:
            continue
        result: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
        line = (
            f"{result['rows']:>7,} rows ({result['database']}): {result['seconds']:.1f} s, "
            f"{result['rows_per_second']:,} rows/s ({result['rows_per_cpu_second']:,} per CPU second), "
            f"peak RSS {result['peak_rss_mb']} MB "
            f"(before the import {result['rss_before_import_mb']} MB); created {result['created']:,}, "
            f"skipped {result['skipped']:,}, rejected {result['rejected']:,}; search finds the last: "
            f"{result['search_finds_last_record']}"
        )
        if "raw_seconds" in result:
            line += f"; raw SQL {result['raw_seconds']:.2f} s ({result['raw_rows_per_second']:,} rows/s)"
            line += f", ratio {result['ratio']}×"
        print(line, flush=True)


if __name__ == "__main__":
    main()
