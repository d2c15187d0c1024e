"""Global search at scale: N customers, searched as a salesperson and as an admin, against the
raw index query.

    .venv/bin/python benchmarks/search_bench.py --customers 100000 [--data-dir DIR] [--reuse]
    createdb kehu_bench && KEHU_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/kehu_bench \
        .venv/bin/python benchmarks/search_bench.py --customers 100000 --data-dir DIR

Builds a fresh database (SQLite in a temporary data directory unless KEHU_DATABASE_URL or
--data-dir say otherwise; --reuse times the data a previous run left there), writes the
customers through the bulk path (``bulk_create`` with numbers reserved in one go, then
``search.rebuild``) and times ``search.search`` — as a sales user who sees one team of ten
(row-level visibility), and as an admin who sees everything — for a Latin fragment, a
two-character Chinese query, a Chinese name, its pinyin and initials, a number, a phone typed
with spaces, and a word in most company names (where the candidate limit applies). Each is set
against the bare index match of the same words in the same run (FTS5 / pg_trgm, first page
ranked, and counted; no visibility, grouping or candidate limit): the ratio is what the module
adds or saves.
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

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超霞平刚桂英华玉兰萍红鹏辉建国文斌宇浩然欣怡子涵思远雨婷俊佳琪晓东海燕志"


def words(text: str) -> list[str]:
    return text.split()


BRANDS = words(
    "华信 恒达 远航 中科 金桥 东方 新锐 博远 天成 海纳 瑞丰 鼎盛 宏图 启明 星辰 "
    "万通 联创 嘉禾 盛世 安泰 智联 云帆 正邦 凯越 同舟 光华 永信 华通 明德 睿智"
)
TRADES = words(
    "科技 信息技术 软件 机械 精密制造 电子 商贸 百货 医疗器械 生物科技 "
    "教育科技 物流 供应链管理 建设工程 餐饮管理 新能源"
)
CITIES = words("上海 杭州 南京 苏州 广州 深圳 厦门 北京 成都 武汉 宁波 青岛 天津 重庆 西安 长沙")
EN_WORDS = words(
    "Acme Global Pacific Summit Vertex Harbor Pioneer Northwind Bluebird Redwood Silverline Keystone Atlas Orion "
    "Evergreen Granite"
)
EN_TRADES = words("Technologies Logistics Foods Systems Partners Industries Trading Labs Health Energy")


def setup(args: argparse.Namespace) -> bool:
    """Django on the benchmark's database, migrated; True when it already holds the data."""
    # The data directory holds the SQLite database and, on PostgreSQL too, the encryption key.
    os.environ["KEHU_DATA_DIR"] = args.data_dir or tempfile.mkdtemp(prefix="kehu-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    tables = connection.introspection.table_names()
    if args.reuse and "customers_customer" in tables:
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


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def company(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.6:
        return f"{rng.choice(CITIES)}{rng.choice(BRANDS)}{rng.choice(TRADES)}有限公司"
    if roll < 0.8:
        return person(rng)
    return f"{rng.choice(EN_WORDS)} {rng.choice(EN_TRADES)} {rng.choice(('Inc.', 'LLC', 'Ltd', 'Co.'))}"


def generate(count: int, *, rng: random.Random) -> tuple[Any, list[Any]]:
    """``count`` customers spread over ten teams of five salespeople, written with bulk_create."""
    from django.db import transaction

    from kehu.accounts.services import team_get_or_create, user_create
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
    numbers = next_numbers("C", count)
    started = time.perf_counter()
    batch: list[Any] = []
    with transaction.atomic():
        for i in range(count):
            owner = owners[i % len(owners)]
            name = company(rng)
            batch.append(
                Customer(
                    number=numbers[i],
                    name=name,
                    kind="person" if len(name) <= 3 else "company",
                    owner=owner,
                    team_id=owner.team_id,
                    phone=f"+8613{rng.randrange(10**9):09d}",
                    email=f"info{i}@example.com",
                    city=rng.choice(CITIES),
                    street=f"{rng.choice(('人民路', '中山路', 'Main Street'))} {rng.randrange(1, 999)}号",
                    notes=rng.choice(("", "", "重要客户，每季度回访", "Prefers email", "展会认识")),
                )
            )
            if len(batch) == 5000:
                Customer.objects.bulk_create(batch)
                batch = []
        Customer.objects.bulk_create(batch)
    print(f"generated {count} customers in {time.perf_counter() - started:.1f} s")
    return owners[0], owners


def timed(run: Callable[[], Any], repeat: int) -> tuple[float, float]:
    run()  # warm the caches
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def raw_query(text: str) -> Callable[[], Any]:
    """The index alone: the FTS5 / pg_trgm match of ``text`` ranked (first page) and counted,
    without visibility, the candidate limit or grouping: what a naive search would run."""
    from django.db import connection

    from kehu.platform import search
    from kehu.platform.search.query import fts_phrase

    query = search.parse_query(text)
    if connection.vendor == "sqlite":
        if query.phrases:
            match = "platform_search_fts MATCH %s"
            page = f"SELECT rowid FROM platform_search_fts WHERE {match} ORDER BY rank LIMIT 8"
            count = f"SELECT count(*) FROM platform_search_fts WHERE {match}"
            params: list[Any] = [fts_phrase(query.phrases)]
        else:
            match = "platform_search_terms MATCH %s"
            page = f"SELECT rowid FROM platform_search_terms WHERE {match} LIMIT 8"
            count = f"SELECT count(*) FROM platform_search_terms WHERE {match}"
            params = [fts_phrase(query.terms)]
    else:
        if query.phrases:
            where = "(number || ' ' || title || ' ' || body || ' ' || pinyin) ILIKE %s"
            params = [f"%{query.phrases[0]}%"]
        else:
            where = "terms_array @> %s::text[]"
            params = [list(query.terms)]
        page = f"SELECT id FROM platform_searchdocument WHERE {where} ORDER BY similarity(title, %s) DESC LIMIT 8"
        count = f"SELECT count(*) FROM platform_searchdocument WHERE {where}"

    page_params = params if connection.vendor == "sqlite" else [*params, query.text]

    def run() -> Any:
        with connection.cursor() as cursor:
            cursor.execute(page, page_params)
            cursor.fetchall()
            cursor.execute(count, params)
            return cursor.fetchone()

    return run


def raw_phone(text: str) -> Callable[[], Any]:
    """The blind-index lookup alone."""
    from kehu.customers.models import Customer
    from kehu.customers.records import CUSTOMER
    from kehu.platform.fields import encrypted_lookup_q

    condition = encrypted_lookup_q(CUSTOMER, text)
    return lambda: list(Customer.objects.filter(condition).values_list("pk", flat=True)[:8])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50, help="timed runs per query (default 50)")
    parser.add_argument("--data-dir", help="data directory: SQLite database, keys (default: a new temporary one)")
    parser.add_argument("--reuse", action="store_true", help="time the data already in --data-dir / the database")
    parser.add_argument("--reset", action="store_true", help="drop what the database holds first")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    reused = setup(args)

    from django.db import connection

    from kehu.accounts.models import User
    from kehu.accounts.services import user_create
    from kehu.customers.models import Customer
    from kehu.customers.records import CUSTOMER
    from kehu.platform import search

    if reused:
        user = User.objects.get(username="rep0_0")
        print(f"reusing {Customer.objects.count()} customers")
    else:
        user, _owners = generate(args.customers, rng=random.Random(args.seed))
        report = search.rebuild(CUSTOMER)
        search.optimize()
        print(f"indexed {report.rows} customers in {report.seconds:.1f} s ({report.rows_per_second:,.0f} rows/s)")
    if connection.vendor == "postgresql":  # what autovacuum does after a bulk load
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    admin = User.objects.filter(username="bench_admin").first() or user_create(
        username="bench_admin", password="Bench-pass-2026", role="admin"
    )

    sample = Customer.objects.filter(team_id=user.team_id).exclude(kind="person").order_by("pk").first()
    named = Customer.objects.filter(team_id=user.team_id, kind="person").order_by("pk").first()
    assert sample is not None
    assert named is not None
    full, initials = search.pinyin_keys(named.name)[:2]
    national = sample.phone.removeprefix("+86")
    phone = f"{national[:3]} {national[3:7]} {national[7:]}"
    cases = [
        ("Latin fragment", "pacif", user, raw_query("pacif")),
        ("2-char Chinese", "科技", user, raw_query("科技")),
        ("Chinese name", named.name, user, raw_query(named.name)),
        ("pinyin full", full, user, raw_query(full)),
        ("pinyin initials", initials[:2], user, raw_query(initials[:2])),
        ("number", sample.number, user, raw_query(sample.number)),
        ("phone", phone, user, raw_phone(phone)),
        ("common word", "有限公司", user, raw_query("有限公司")),
        ("2-char, admin", "科技", admin, raw_query("科技")),
        ("common, admin", "有限公司", admin, raw_query("有限公司")),
    ]
    print(f"\n{connection.vendor}, {Customer.objects.count()} customers; a sales user sees one team of ten,")
    print(f"the admin all; milliseconds over {args.repeat} runs; raw: the bare index match, ranked and counted")
    print(f"{'query':<16} {'text':<14} {'found':>7} {'p50':>7} {'p95':>7} {'raw p50':>8} {'ratio':>6}")
    for label, text, who, raw in cases:
        groups = search.search(who, text, limit=8)
        found = f"{sum(group.count for group in groups)}{'+' if any(g.capped for g in groups) else ''}"
        p50, p95 = timed(lambda text=text, who=who: search.search(who, text, limit=8), args.repeat)
        raw50, _raw95 = timed(raw, args.repeat)
        ratio = p50 / raw50 if raw50 else float("inf")
        print(f"{label:<16} {text:<14} {found:>7} {p50:>7.1f} {p95:>7.1f} {raw50:>8.1f} {ratio:>6.1f}")


if __name__ == "__main__":
    main()
