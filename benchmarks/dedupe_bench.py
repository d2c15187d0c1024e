"""The duplicate finder at scale: N customers with a known share of planted duplicates.

    .venv/bin/python benchmarks/dedupe_bench.py --customers 100000 [--data-dir DIR] [--reuse]
    createdb kehu_dedupe_bench && KEHU_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/kehu_dedupe_bench \
        .venv/bin/python benchmarks/dedupe_bench.py --customers 100000

Builds a fresh database (SQLite in a temporary data directory unless KEHU_DATABASE_URL or
--data-dir say otherwise), writes N customers with ``bulk_create`` — Chinese company names
from a few hundred brand characters, trades and cities, Chinese person names and Latin company
names, each with its own phone and email — of which ``--duplicates`` (default 2 %) are planted
duplicates of another customer: the same name with another legal form, one character changed
in the same city, the same phone, or the same email. Then it times ``finder.scan`` (twice: the
first run stores the pairs, the second updates them) and reports how many planted duplicates
were found (recall) and how many pairs were found in all.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

BRAND_CHARS = (
    "华信恒达远航中科金桥东方新锐博远天成海纳瑞丰鼎盛宏图启明星辰万通联创嘉禾盛世安泰智联云帆正邦凯越同舟光永明德睿"
    "宁康泰和顺昌隆兴旺福祥瑞佳美优越卓越精诚立信诺亚汇聚合众广大长江黄河泰山峰岭松柏梅兰竹菊春夏秋冬日月辰宇宙"
    "乾坤阳光蓝天碧海青山绿水金银铜铁玉石珠宝龙凤麟鹏鹰雁鸿飞腾跃翔奔驰骏骐骥驹骋骁骏"
)
TRADES = [
    "科技",
    "信息技术",
    "软件",
    "机械",
    "精密制造",
    "电子",
    "商贸",
    "百货",
    "医疗器械",
    "生物科技",
    "教育科技",
    "物流",
    "供应链管理",
    "建设工程",
    "餐饮管理",
    "新能源",
]
FORMS = ("有限公司", "股份有限公司", "有限责任公司", "集团有限公司")
CITIES = [
    "上海",
    "杭州",
    "南京",
    "苏州",
    "广州",
    "深圳",
    "厦门",
    "北京",
    "成都",
    "武汉",
    "宁波",
    "青岛",
    "天津",
    "重庆",
    "西安",
    "长沙",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超霞平刚桂英华玉兰萍红鹏辉建国文斌宇浩然欣怡子涵思远雨婷俊佳琪晓东海燕志"
EN_WORDS = [
    "Acme",
    "Global",
    "Pacific",
    "Summit",
    "Vertex",
    "Harbor",
    "Pioneer",
    "Northwind",
    "Bluebird",
    "Redwood",
    "Silverline",
    "Keystone",
    "Atlas",
    "Orion",
    "Evergreen",
    "Granite",
    "Falcon",
    "Meridian",
    "Crescent",
    "Beacon",
    "Horizon",
    "Cascade",
    "Sterling",
    "Quantum",
    "Apex",
    "Nimbus",
    "Zenith",
]
EN_TRADES = [
    "Technologies",
    "Logistics",
    "Foods",
    "Systems",
    "Partners",
    "Industries",
    "Trading",
    "Labs",
    "Health",
    "Energy",
]


def setup(args: argparse.Namespace) -> bool:
    os.environ["KEHU_DATA_DIR"] = args.data_dir or tempfile.mkdtemp(prefix="kehu-dedupe-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    tables = connection.introspection.table_names()
    if args.reuse and "customers_customer" in tables:
        return True
    if tables:
        sys.exit("the database is not empty: use an empty data directory / database, or --reuse")
    call_command("migrate", verbosity=0)
    return False


def company(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.7:
        brand = "".join(rng.choice(BRAND_CHARS) for _ in range(rng.choice((2, 2, 3, 4))))
        return f"{rng.choice(CITIES)}{brand}{rng.choice(TRADES)}{rng.choice(FORMS)}"
    if roll < 0.85:
        return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    return f"{rng.choice(EN_WORDS)} {rng.choice(EN_WORDS)} {rng.choice(EN_TRADES)} {rng.choice(('Inc.', 'LLC', 'Ltd'))}"


def variant(name: str, rng: random.Random) -> str:
    """A duplicate's name: another legal form, or one character changed in a longer name."""
    for form in FORMS:
        if name.endswith(form):
            core = name[: -len(form)]
            if rng.random() < 0.5 or len(core) < 10:
                return core + rng.choice([f for f in FORMS if f != form] + [""])
            i = rng.randrange(2, len(core) - 2)
            return core[:i] + rng.choice(BRAND_CHARS) + core[i + 1 :] + form
    return name.upper() if name.isascii() else name


def generate(count: int, share: float, rng: random.Random) -> list[tuple[int, int, str]]:
    """Write ``count`` customers; returns the planted pairs as (index, index of the original, how)."""
    from django.db import transaction

    from kehu.accounts.services import team_get_or_create, user_create
    from kehu.customers.models import Customer
    from kehu.platform.numbering import next_numbers

    head = team_get_or_create(name="Head office")
    owners = [
        user_create(
            username=f"rep{t}",
            password="Bench-pass-2026",
            role="sales",
            team=team_get_or_create(name=f"Team {t}", parent=head).name,
        )
        for t in range(10)
    ]
    numbers = next_numbers("C", count)
    planted: list[tuple[int, int, str]] = []
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    for i in range(count):
        if rows and rng.random() < share:
            j = rng.randrange(len(rows))
            original = rows[j]
            how = rng.choice(("name", "phone", "email"))
            row = {
                "name": variant(original["name"], rng) if how == "name" else company(rng),
                "city": original["city"] if how == "name" else rng.choice(CITIES),
                "phone": original["phone"] if how == "phone" else f"+8613{rng.randrange(10**9):09d}",
                "email": original["email"] if how == "email" else f"info{i}@example.com",
            }
            planted.append((i, j, how))
        else:
            row = {
                "name": company(rng),
                "city": rng.choice(CITIES),
                "phone": f"+8613{rng.randrange(10**9):09d}",
                "email": f"info{i}@example.com",
            }
        rows.append(row)
    with transaction.atomic():
        batch = []
        for i, row in enumerate(rows):
            owner = owners[i % len(owners)]
            batch.append(Customer(number=numbers[i], owner=owner, team_id=owner.team_id, **row))
            if len(batch) == 5000:
                Customer.objects.bulk_create(batch)
                batch = []
        Customer.objects.bulk_create(batch)
    print(f"generated {count} customers ({len(planted)} planted duplicates) in {time.perf_counter() - started:.1f} s")
    return planted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--duplicates", type=float, default=0.02, help="share of planted duplicates")
    parser.add_argument("--data-dir")
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    reused = setup(args)
    from django.db import connection

    from kehu.customers.models import Customer
    from kehu.dataio.dedupe import finder
    from kehu.dataio.dedupe.models import DuplicateCandidate

    planted = [] if reused else generate(args.customers, args.duplicates, random.Random(args.seed))
    print(f"database: {connection.vendor}, customers: {Customer.objects.count()}")
    for run in ("first scan", "rescan"):
        counts = finder.scan("customer")
        print(f"{run}: {counts['seconds']:.1f} s — {counts}")
    if planted:
        pks = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
        found = {(c.left_id, c.right_id) for c in DuplicateCandidate.objects.filter(record_type="customer")}
        by_how: dict[str, list[int]] = {}
        for i, j, how in planted:
            pair = tuple(sorted((pks[i], pks[j])))
            by_how.setdefault(how, []).append(pair in found)
        for how, hits in sorted(by_how.items()):
            print(f"planted {how}: {sum(hits)}/{len(hits)} found ({100 * sum(hits) / len(hits):.1f} %)")


if __name__ == "__main__":
    main()
