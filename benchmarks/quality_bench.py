"""The data quality scan and report at scale: N customers (1 % with a phone number that does
not parse, 1 % with a bad email address, written past validation the way legacy data arrives),
a third of them with a recent interaction.

    .venv/bin/python benchmarks/quality_bench.py --customers 100000 [--data-dir DIR] [--reuse]
    createdb kehu_qbench && KEHU_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/kehu_qbench \
        .venv/bin/python benchmarks/quality_bench.py --customers 100000 --data-dir DIR

Times ``services.scan_type`` (read every stored phone and email in batches, decrypt, validate,
replace the findings in one transaction) against two baselines of the same run: the bare read
of the token columns (one SELECT, no decryption) and read + decrypt (no validation). Then times
the report (one counting query per type: invalid phones/emails, a missing required field,
inactive customers) as an admin and as a salesperson who sees one team of ten, and the
filtered list count behind one report link.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))


def setup(args: argparse.Namespace) -> bool:
    """Django on the benchmark's database, migrated; True when it already holds the data."""
    os.environ["KEHU_DATA_DIR"] = args.data_dir or tempfile.mkdtemp(prefix="kehu-qbench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    os.environ.setdefault("KEHU_TASKS_BACKEND", "immediate")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    tables = connection.introspection.table_names()
    if args.reuse and "customers_customer" in tables:
        return True
    if tables:
        sys.exit("the benchmark needs an empty database (or --reuse)")
    call_command("migrate", verbosity=0)
    return False


def generate(count: int, rng: random.Random) -> None:
    from django.db import transaction
    from django.utils import timezone

    from kehu.accounts.services import team_get_or_create, user_create
    from kehu.activities.models import Interaction
    from kehu.customers.models import Customer
    from kehu.platform.numbering import next_numbers

    head = team_get_or_create(name="Head office")
    owners = []
    for t in range(10):
        team_get_or_create(name=f"Team {t}", parent=head)
        owners += [
            user_create(username=f"rep{t}_{u}", password="Bench-pass-2026", role="sales", team=f"Team {t}")
            for u in range(5)
        ]
    user_create(username="admin", password="Bench-pass-2026", role="admin")
    numbers = next_numbers("C", count)
    started = time.perf_counter()
    old = timezone.now() - timezone.timedelta(days=400)
    with transaction.atomic():
        batch: list[Any] = []
        for i in range(count):
            owner = owners[i % len(owners)]
            roll = rng.random()
            batch.append(
                Customer(
                    number=numbers[i],
                    name=f"Customer {i}",
                    owner=owner,
                    team_id=owner.team_id,
                    phone="12345" if roll < 0.01 else f"+8613{rng.randrange(10**9):09d}",
                    email="not-an-email" if 0.01 <= roll < 0.02 else f"info{i}@example.com",
                    industry="" if rng.random() < 0.1 else "Retail",
                    created_at=old,
                )
            )
            if len(batch) == 5000:
                Customer.objects.bulk_create(batch)
                batch = []
        Customer.objects.bulk_create(batch)
        ids = list(Customer.objects.order_by("pk").values_list("pk", "owner_id", "team_id"))
        talked = ids[: count // 3]
        inumbers = next_numbers("I", len(talked))
        recent = timezone.now() - timezone.timedelta(days=10)
        Interaction.objects.bulk_create(
            [
                Interaction(
                    number=inumbers[n], customer_id=pk, owner_id=owner, team_id=team, subject="Call", occurred_at=recent
                )
                for n, (pk, owner, team) in enumerate(talked)
            ],
            batch_size=5000,
        )
    print(f"generated {count} customers and {len(talked)} interactions in {time.perf_counter() - started:.1f} s")


def timed(run: Callable[[], Any], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--data-dir")
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    if not setup(args):
        generate(args.customers, random.Random(7))

    from django.contrib.auth import get_user_model
    from django.db import connection

    from kehu.customers.models import Customer
    from kehu.dataio.quality import services
    from kehu.platform import crypto
    from kehu.platform.context import Context, Source
    from kehu.platform.records import registry
    from kehu.platform.selectors import record_list

    rt = registry["customer"]
    table = Customer._meta.db_table
    print(f"database: {connection.vendor}; customers: {Customer.objects.count()}")

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, phone, email FROM {table} WHERE deleted_at IS NULL ORDER BY id")
        rows = cursor.fetchall()
    raw_read = time.perf_counter() - started
    started = time.perf_counter()
    for _pk, phone, email in rows:
        crypto.decrypt(phone, purpose="field:phone")
        crypto.decrypt(email, purpose="field:email")
    decrypt = time.perf_counter() - started
    result = services.scan_type(rt)
    n = len(rows)
    print(f"raw read of the token columns: {raw_read:.2f} s ({n / raw_read:,.0f} rows/s)")
    print(f"raw read + decrypt:            {raw_read + decrypt:.2f} s ({n / (raw_read + decrypt):,.0f} rows/s)")
    print(
        f"scan (decrypt + validate + write findings): {result.seconds:.2f} s ({result.rate:,.0f} records/s), "
        f"{result.findings} findings {result.by_code}; x{result.seconds / raw_read:.1f} the raw read, "
        f"x{result.seconds / (raw_read + decrypt):.1f} read + decrypt"
    )

    admin = get_user_model().objects.get(username="admin")
    rep = get_user_model().objects.get(username="rep0_0")
    services.policy_update(Context(user=admin, source=Source.CLI), rt, {"required_fields": ["industry"]})
    for label, user in (("admin", admin), ("rep (one team of ten)", rep)):
        (report,) = services.report(user, ["customer"])
        summary = {row.code: row.count for row in report.rows}
        p50, p95 = timed(lambda user=user: services.report(user, ["customer"]), args.repeat)
        print(f"report as {label}: p50 {p50:.0f} ms, p95 {p95:.0f} ms; {summary}")
        for code in ("invalid_phone", "inactive"):
            p50, p95 = timed(
                lambda user=user, code=code: record_list(rt, user=user, params={"quality": code})[:50].count(),
                args.repeat,
            )
            print(f"  list ?quality={code} first page as {label}: p50 {p50:.1f} ms")


if __name__ == "__main__":
    main()
