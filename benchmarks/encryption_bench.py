"""Encrypted phones and emails at scale: N customers, against raw-SQL baselines.

    .venv/bin/python benchmarks/encryption_bench.py --customers 50000
    KEHU_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/kehu_bench .venv/bin/python benchmarks/encryption_bench.py

Builds a fresh database (SQLite in a temporary data directory unless KEHU_DATABASE_URL says
otherwise) with N customers, each with an encrypted phone and email, written through
``bulk_create`` (which fills the blind indexes). Then times, each against a raw-SQL baseline in
the same run:

- a phone lookup through the blind index as an admin (``record_list`` with ``?phone=`` typed with
  spaces) against the raw ``WHERE phone_bidx IN (…)`` query, and against ``record_list`` with a
  filter on a plain column (``?city=``) to show what the blind index adds to a list request;
- reading a list page of 50 customers (decrypting phone and email) against reading the same
  columns without decryption, and against the same ORM query of three plain columns;
- ``kehu rotate-keys`` re-encrypting every row under a new key (rows per second).
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


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """Median seconds of ``repeat`` runs (after one warm-up)."""
    fn()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("KEHU_DATA_DIR", tempfile.mkdtemp(prefix="kehu-bench-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "kehu.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from kehu.accounts.services import user_create
    from kehu.customers.models import Customer
    from kehu.customers.records import CUSTOMER
    from kehu.platform import crypto, selectors
    from kehu.platform.rekey import encrypted_models, not_under_key_sql, rewrite, to_current_key

    Customer.all_objects.all().delete()
    admin = user_create(username=f"bench{random.randrange(10**6)}", password="Bench-pass-2026!", role="admin")
    rng = random.Random(7)
    phones = [f"+86139{n:08d}" for n in rng.sample(range(10**8), args.customers)]
    started = time.perf_counter()
    batch = [
        Customer(
            number=f"B-{i:07d}",
            owner=admin,
            name=f"Customer {i}",
            city=f"City {i}",
            phone=phone,
            email=f"buyer{i}@example.com",
        )
        for i, phone in enumerate(phones)
    ]
    Customer.all_objects.bulk_create(batch, batch_size=1000)
    written = time.perf_counter() - started
    print(f"{connection.vendor}: {args.customers} customers written (encrypt + index) in {written:.1f} s")

    wanted = phones[len(phones) // 2]
    typed = f"{wanted[3:6]} {wanted[6:10]} {wanted[10:]}"

    def lookup() -> list[int]:
        rows = selectors.record_list(CUSTOMER, user=admin, params={"phone": typed})
        return list(rows.values_list("pk", flat=True)[:50])

    candidates = crypto.blind_index_candidates("phone", wanted)

    def raw_lookup() -> list[Any]:
        with connection.cursor() as cursor:
            placeholders = ", ".join(["%s"] * len(candidates))
            cursor.execute(
                f"SELECT id FROM customers_customer WHERE phone_bidx IN ({placeholders}) LIMIT 50",
                candidates,
            )
            return cursor.fetchall()

    def plain_filter() -> list[int]:
        rows = selectors.record_list(CUSTOMER, user=admin, params={"city": f"City {len(phones) // 2}"})
        return list(rows.values_list("pk", flat=True)[:50])

    assert len(lookup()) == 1
    found, baseline, plain = (
        timed(lookup, args.repeat),
        timed(raw_lookup, args.repeat),
        timed(plain_filter, args.repeat),
    )
    print(
        f"phone lookup: {found * 1000:.2f} ms; raw SQL {baseline * 1000:.2f} ms (ratio {found / baseline:.1f}); "
        f"same list filtered by city {plain * 1000:.2f} ms (ratio {found / plain:.2f})"
    )

    def page() -> list[Any]:
        return list(Customer.objects.order_by("-id").values_list("name", "phone", "email")[:50])

    def raw_page() -> list[Any]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT name, phone, email FROM customers_customer ORDER BY id DESC LIMIT 50")
            return cursor.fetchall()

    def page_without_personal_fields() -> list[Any]:
        return list(Customer.objects.order_by("-id").values_list("name", "city", "website")[:50])

    read, baseline = timed(page, args.repeat), timed(raw_page, args.repeat)
    plain = timed(page_without_personal_fields, args.repeat)
    print(
        f"page of 50 with phone and email decrypted: {read * 1000:.2f} ms; raw SQL {baseline * 1000:.2f} ms "
        f"(ratio {read / baseline:.1f}); same query of three plain columns {plain * 1000:.2f} ms "
        f"(ratio {read / plain:.2f})"
    )

    key_file = Path(os.environ["KEHU_DATA_DIR"]) / crypto.KEY_FILE
    if os.environ.get("KEHU_ENCRYPTION_KEY"):
        print("rotation skipped: the key comes from the environment")
        return
    from kehu.platform.management.commands.rotate_keys import switch_to_new_key

    switch_to_new_key()
    current = crypto.keyring().current.id
    started = time.perf_counter()
    rows = sum(
        rewrite(model, transform=to_current_key, pending_sql=not_under_key_sql(current), batch_size=500).rows
        for model in encrypted_models()
    )
    took = time.perf_counter() - started
    print(f"rotation: {rows} rows re-encrypted in {took:.1f} s, {rows / took:.0f} rows/s (key file {key_file})")


if __name__ == "__main__":
    main()
