"""The pipeline board at scale: N open opportunities in one pipeline, the board page as a sales
manager, against the raw SQL of the same card query.

    .venv/bin/python benchmarks/board_bench.py --opportunities 5000 [--data-dir DIR] [--reuse]
    createdb kehu_bench && KEHU_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/kehu_bench \
        .venv/bin/python benchmarks/board_bench.py --opportunities 5000 --data-dir DIR

Builds a fresh database (SQLite in a temporary data directory unless KEHU_DATABASE_URL or
--data-dir say otherwise; --reuse times the data a previous run left there), writes customers
and open opportunities through the bulk path (``bulk_create`` with numbers reserved in one go)
over ten teams — spread over the open stages of the default pipeline, amounts in CNY and some
in USD with monthly exchange rates, expected close dates over a year — and times:

- ``page``: ``GET /opportunities/board/`` through Django's test client, logged in as a manager
  of the whole team tree (the view: visibility, the selector's card and totals queries, rates,
  the template with up to 100 cards per column);
- ``selector``: ``selectors.board()`` alone (queries and conversion, no template);
- ``raw``: the same card query in plain SQL (the first 100 cards per stage by expected close
  date with their customer and owner, ``ROW_NUMBER()`` over the stage) plus the per-stage
  count and sum: no visibility, no conversion, no template.

The ratio page / raw is what the module adds over the bare queries.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

BRANDS = [
    "华信",
    "恒达",
    "远航",
    "中科",
    "金桥",
    "东方",
    "新锐",
    "博远",
    "天成",
    "海纳",
    "瑞丰",
    "鼎盛",
    "宏图",
    "启明",
    "星辰",
    "万通",
]
TRADES = ["科技", "软件", "机械", "电子", "商贸", "物流", "医疗器械", "新能源"]
CITIES = ["上海", "杭州", "南京", "苏州", "广州", "深圳", "北京", "成都"]
DEALS = ["年度采购", "系统升级", "门店扩容", "新工厂项目", "Cloud subscription", "Hardware refresh"]
PASSWORD = "Bench-pass-2026"


def setup(args: argparse.Namespace) -> bool:
    """Django on the benchmark's database, migrated; True when it already holds the data."""
    os.environ["KEHU_DATA_DIR"] = args.data_dir or tempfile.mkdtemp(prefix="kehu-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    tables = connection.introspection.table_names()
    if args.reuse and "opportunities_opportunity" in tables:
        return True
    if connection.vendor == "postgresql" and tables:
        if not args.reset:
            sys.exit(
                f"{connection.settings_dict['NAME']} is not empty: use an empty database, or --reset to drop it all"
            )
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    elif tables and not args.reset:
        sys.exit(f"{args.data_dir} holds a database: use an empty data directory, --reuse or --reset")
    elif tables:
        connection.close()
        Path(connection.settings_dict["NAME"]).unlink()
    call_command("migrate", verbosity=0)
    return False


def generate(count: int, *, rng: random.Random) -> None:
    """``count`` open opportunities of the default pipeline for ``count // 5`` customers of
    fifty salespeople in ten teams, written with bulk_create; USD rates for every month."""
    from django.db import transaction
    from django.utils import timezone

    from kehu.accounts.services import team_get_or_create, user_create
    from kehu.customers.models import Customer
    from kehu.platform.models import Currency, ExchangeRate
    from kehu.platform.numbering import next_numbers
    from kehu.sales.opportunities import pipelines
    from kehu.sales.opportunities.models import Opportunity, StageKind

    head = team_get_or_create(name="Head office")
    owners = []
    for t in range(10):
        team_get_or_create(name=f"Team {t}", parent=head)
        owners += [
            user_create(username=f"rep{t}_{u}", password=PASSWORD, role="sales", team=f"Team {t}") for u in range(5)
        ]
    user_create(username="chief", password=PASSWORD, role="manager", team="Head office")
    pipeline = pipelines.default_pipeline()
    assert pipeline is not None
    open_stages = [stage for stage in pipelines.stages_of(pipeline) if stage.kind == StageKind.OPEN]
    today = timezone.localdate()
    Currency.objects.filter(code="USD").update(active=True)
    ExchangeRate.objects.bulk_create(
        [
            ExchangeRate(
                currency_id="USD",
                rate_date=datetime.date(today.year + (today.month + m - 13) // 12, (today.month + m - 13) % 12 + 1, 1),
                rate=Decimal("7.1") + Decimal(m) / 100,
            )
            for m in range(0, 26)
        ],
        ignore_conflicts=True,
    )
    started = time.perf_counter()
    with transaction.atomic():
        numbers = next_numbers("C", count // 5)
        customers = []
        for i in range(count // 5):
            owner = owners[i % len(owners)]
            customers.append(
                Customer(
                    number=numbers[i],
                    name=f"{rng.choice(CITIES)}{rng.choice(BRANDS)}{rng.choice(TRADES)}有限公司",
                    kind="company",
                    owner=owner,
                    team_id=owner.team_id,
                )
            )
        Customer.objects.bulk_create(customers, batch_size=2000)
        numbers = next_numbers("OPP", count)
        batch = []
        for i in range(count):
            customer = customers[i % len(customers)]
            stage = rng.choices(open_stages, weights=[40, 25, 20, 15][: len(open_stages)])[0]
            usd = rng.random() < 0.1
            priced = bool(stage.requirements) or rng.random() < 0.9
            batch.append(
                Opportunity(
                    number=numbers[i],
                    name=f"{customer.name} {rng.choice(DEALS)}",
                    customer=customer,
                    pipeline=pipeline,
                    stage=stage,
                    amount=Decimal(rng.randint(100, 20000) * 100) if priced else None,
                    currency="USD" if usd else "CNY",
                    probability=stage.probability,
                    forecast_category=stage.forecast_category,
                    expected_close_date=today + datetime.timedelta(days=rng.randint(-30, 330))
                    if priced or rng.random() < 0.5
                    else None,
                    owner_id=customer.owner_id,
                    team_id=customer.team_id,
                )
            )
        Opportunity.objects.bulk_create(batch, batch_size=2000)
    print(f"generated {count // 5} customers and {count} open opportunities in {time.perf_counter() - started:.1f} s")


def timed(run: Callable[[], Any], repeat: int) -> tuple[float, float]:
    run()  # warm the caches
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def raw_board(pipeline_id: int, limit: int) -> Callable[[], Any]:
    """The board's card query and per-stage totals in plain SQL (no visibility, conversion or
    template)."""
    from django.db import connection

    nulls_last = (
        "expected_close_date IS NULL, expected_close_date" if connection.vendor == "sqlite" else "expected_close_date"
    )
    cards = f"""
        SELECT * FROM (
            SELECT o.id, o.number, o.name, o.stage_id, o.amount, o.currency, o.probability,
                   o.expected_close_date, o.version, c.id, c.name, c.number, u.id, u.username,
                   u.first_name, u.last_name,
                   ROW_NUMBER() OVER (PARTITION BY o.stage_id ORDER BY {nulls_last.replace("expected", "o.expected")}
                                      {"" if connection.vendor == "sqlite" else "NULLS LAST"}, o.id) AS row
            FROM opportunities_opportunity o
            JOIN customers_customer c ON c.id = o.customer_id
            LEFT JOIN accounts_user u ON u.id = o.owner_id
            WHERE o.pipeline_id = %s AND o.status = 'open' AND o.deleted_at IS NULL
        ) ranked WHERE row <= %s ORDER BY stage_id, row
    """
    totals = """
        SELECT stage_id, currency, expected_close_date, count(*), sum(amount)
        FROM opportunities_opportunity
        WHERE pipeline_id = %s AND status = 'open' AND deleted_at IS NULL
        GROUP BY stage_id, currency, expected_close_date
    """

    def run() -> Any:
        with connection.cursor() as cursor:
            cursor.execute(cards, [pipeline_id, limit])
            cursor.fetchall()
            cursor.execute(totals, [pipeline_id])
            return cursor.fetchall()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opportunities", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=20, help="timed runs (default 20)")
    parser.add_argument("--data-dir", help="data directory: SQLite database, keys (default: a new temporary one)")
    parser.add_argument("--reuse", action="store_true", help="time the data already in --data-dir / the database")
    parser.add_argument("--reset", action="store_true", help="drop what the database holds first")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    reused = setup(args)
    import logging

    logging.disable(logging.INFO)  # the request log line of every timed page

    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from kehu.accounts.models import User
    from kehu.sales.opportunities import pipelines, selectors
    from kehu.sales.opportunities.models import Opportunity

    if not reused:
        generate(args.opportunities, rng=random.Random(args.seed))
    if connection.vendor == "postgresql":  # what autovacuum does after a bulk load
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    pipeline = pipelines.default_pipeline()
    assert pipeline is not None
    chief = User.objects.get(username="chief")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(chief)
    url = f"/opportunities/board/?pipeline={pipeline.pk}"
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    board = selectors.board(chief, pipeline)
    cards = sum(len(column.cards) for column in board.columns)
    total = sum(column.count for column in board.columns)

    def page() -> Any:
        assert client.get(url).status_code == 200

    page50, page95 = timed(page, args.repeat)
    sel50, sel95 = timed(lambda: selectors.board(chief, pipeline), args.repeat)
    raw50, raw95 = timed(raw_board(pipeline.pk, selectors.CARDS_PER_COLUMN), args.repeat)
    opens = Opportunity.objects.filter(status="open").count()
    print(f"\n{connection.vendor}, {opens} open opportunities; the board shows {cards} cards, totals over {total};")
    print(f"as a manager of the whole team tree; milliseconds over {args.repeat} runs")
    print(f"{'what':<10} {'p50':>7} {'p95':>7} {'ratio':>6}")
    for label, p50, p95 in (("page", page50, page95), ("selector", sel50, sel95), ("raw SQL", raw50, raw95)):
        print(f"{label:<10} {p50:>7.1f} {p95:>7.1f} {p50 / raw50 if raw50 else float('inf'):>6.1f}")
    print(f"\nbudget: page p95 under 300 ms — {'OK' if page95 < 300 else 'OVER'}")


if __name__ == "__main__":
    main()
