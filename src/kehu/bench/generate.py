"""Benchmark data at scale: ``kehu bench generate --scale small|medium|large``.

Writes a realistic CRM of 10,000 / 100,000 / 1,000,000 customers with, for each customer on
average, two contacts, ten interactions, a task and a fifth of a need, and per ten customers
three opportunities (with product lines), one contract (with its payment plan), five orders
(with one to four lines) and one payment — over teams of salespeople whose shares of the
customers are skewed (a few own many), with Chinese and English names, phones and emails,
and dates spread over the three years before the anchor day.

The same seed and anchor day give the same data, row for row. Records go through Django's
bulk path (``bulk_create``: numbers reserved in one query per type, personal fields
encrypted with their blind indexes), then the search index and the timelines are rebuilt
with their own batch functions — the same rows the services would have left. No audit
entries are written: nobody edited these records.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction
from django.utils import timezone

from kehu.platform.bulk_insert import bulk_insert
from kehu.platform.instances import unsaved

SCALES = {"small": 10_000, "medium": 100_000, "large": 1_000_000}
CHUNK = 5_000  # customers per transaction; related rows follow their customers' chunk
PASSWORD = "Bench-pass-2026"  # every generated user's password (the suite logs in with it)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超霞平刚桂英华玉兰萍红鹏辉建国文斌宇浩然欣怡子涵思远雨婷俊佳琪晓东海燕志"
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
    "联创",
    "嘉禾",
    "盛世",
    "安泰",
    "智联",
    "云帆",
    "正邦",
    "凯越",
    "同舟",
    "光华",
    "永信",
    "华通",
    "明德",
    "睿智",
    "蓝海",
    "九州",
    "长风",
    "汇金",
    "新元",
    "和信",
    "德润",
    "众诚",
    "锦程",
    "昊天",
]
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
    "环保科技",
    "化工",
    "纺织",
    "食品",
]
CITIES = [
    ("上海", "上海", "021"),
    ("浙江", "杭州", "0571"),
    ("江苏", "南京", "025"),
    ("江苏", "苏州", "0512"),
    ("广东", "广州", "020"),
    ("广东", "深圳", "0755"),
    ("福建", "厦门", "0592"),
    ("北京", "北京", "010"),
    ("四川", "成都", "028"),
    ("湖北", "武汉", "027"),
    ("浙江", "宁波", "0574"),
    ("山东", "青岛", "0532"),
    ("天津", "天津", "022"),
    ("重庆", "重庆", "023"),
    ("陕西", "西安", "029"),
    ("湖南", "长沙", "0731"),
]
MOBILE_PREFIXES = [*range(130, 140), 150, 151, 152, 153, 155, 156, 157, 158, 159, 176, 177, 178, *range(180, 190)]
STREETS = ["人民路", "中山路", "解放路", "建设路", "和平路", "新华路", "长江路", "科技园路", "南京西路", "滨江大道"]
EN_FIRST = [
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Susan",
    "Richard",
    "Jessica",
    "Joseph",
    "Sarah",
    "Thomas",
    "Karen",
    "Daniel",
    "Nancy",
    "Matthew",
    "Lisa",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Steven",
    "Ashley",
    "Paul",
    "Emily",
]
EN_LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Martin",
    "Jackson",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
]
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
    "Lighthouse",
    "Meridian",
    "Falcon",
    "Cascade",
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
US_CITIES = [
    ("CA", "San Francisco", "415"),
    ("NY", "New York", "212"),
    ("TX", "Austin", "512"),
    ("WA", "Seattle", "206"),
]
INDUSTRIES = ["制造业", "软件", "贸易", "物流", "医疗", "教育", "餐饮", "建筑", "新能源", "金融服务", "Retail", "SaaS"]
SUBJECTS_CN = [
    "电话回访",
    "产品演示",
    "报价沟通",
    "合同洽谈",
    "售后跟进",
    "需求调研",
    "上门拜访",
    "技术交流",
    "续约沟通",
]
SUBJECTS_EN = ["Follow-up call", "Product demo", "Pricing discussion", "Contract review", "Support check-in"]
OUTCOMES = [
    "",
    "",
    "客户有兴趣，下周再联系",
    "已发送报价单",
    "需要内部审批",
    "Sent the proposal",
    "Asked for a discount",
]
TASK_TITLES = ["回访客户", "发送报价", "准备合同", "安排演示", "催收款项", "Call back", "Send quote", "Prepare renewal"]
NEED_TITLES = [
    "需要CRM系统",
    "采购办公设备",
    "年度维保服务",
    "数据迁移",
    "Training for the sales team",
    "API integration",
]
PRODUCT_WORDS = ["标准版", "专业版", "企业版", "服务包", "实施服务", "年度维保", "培训课程", "硬件套装"]


@dataclass(frozen=True)
class Volumes:
    """How many of each record a scale writes (proportional to the customers)."""

    customers: int

    @property
    def contacts(self) -> int:
        return 2 * self.customers

    @property
    def interactions(self) -> int:
        return 10 * self.customers

    @property
    def tasks(self) -> int:
        return self.customers

    @property
    def needs(self) -> int:
        return self.customers // 5

    @property
    def opportunities(self) -> int:
        return self.customers * 3 // 10

    @property
    def contracts(self) -> int:
        return self.customers // 10

    @property
    def orders(self) -> int:
        return self.customers // 2

    @property
    def payments(self) -> int:
        return self.customers // 10

    @property
    def products(self) -> int:
        return min(2_000, 100 + self.customers // 500)

    @property
    def teams(self) -> int:
        return max(3, min(40, self.customers // 8_000))

    reps_per_team: int = 8


@dataclass
class Report:
    """What ``generate`` wrote: rows per table and seconds per step."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


class _Picker:
    """Skewed choices, fast: ``rng.choices`` over cumulative weights of a Zipf-like law."""

    def __init__(self, rng: random.Random, items: Sequence[Any], skew: float) -> None:
        order = list(items)
        rng.shuffle(order)
        self.items = order
        total, cumulative = 0.0, []
        for rank in range(len(order)):
            total += 1 / (rank + 1) ** skew
            cumulative.append(total)
        self.cumulative = cumulative

    def many(self, rng: random.Random, k: int) -> list[Any]:
        return rng.choices(self.items, cum_weights=self.cumulative, k=k)


def _chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(total, start + size)


GENERATION_CACHE_KIB = 1_000_000  # SQLite page cache of the generating connection


@contextmanager
def _generation_session() -> Iterator[None]:
    """On SQLite, a page cache of ~1 GB for the generating connection (the app's is 20 MB):
    the indexes written in random order (dates, titles) stay in memory at a million customers.
    Set for one step at a time and put back after it, so the connection leaves as it came."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = -{GENERATION_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {before}")


def _unsaved(model: type[models.Model], rows: list[dict[str, Any]]) -> list[models.Model]:
    """``[model(**row) for row in rows]`` for rows of field values by attname, without
    ``Model.__init__``'s per-field work (a third of the time of writing a record; see
    ``instances.unsaved``), the dates and times in UTC as a record reads back (the same instant):
    its timeline entries can then be made from the instance in hand (``timeline.write_created``
    checks it)."""
    return [
        unsaved(
            model,
            **{
                name: value.astimezone(UTC) if type(value) is datetime and value.tzinfo is not UTC else value
                for name, value in row.items()
            },
        )
        for row in rows
    ]


class Generator:
    """Writes one scale's data; ``run`` calls the steps in dependency order."""

    def __init__(
        self,
        volumes: Volumes,
        *,
        seed: int = 1,
        anchor: date | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.v = volumes
        self.rng = random.Random(seed)  # noqa: S311  (made-up data, reproducible by seed)
        self.seed = seed
        anchor = anchor or timezone.localdate()
        self.now = timezone.make_aware(datetime.combine(anchor, datetime.min.time())) + timedelta(hours=9)
        self.span = 3 * 365 * 86_400  # seconds of history
        self.progress = progress or (lambda message: None)
        self.report = Report()
        # Per customer (index = id order): id, owner id, team id, created_at, Chinese or not.
        self.customer_ids: list[int] = []
        self.customer_owner: list[int] = []
        self.customer_team: list[int | None] = []
        self.customer_created: list[datetime] = []
        self.customer_chinese: list[bool] = []
        # Timeline sources whose entries were written with their records (all of them or not).
        self.timeline_written: set[str] = set()
        self.timeline_missed: set[str] = set()

    # -- helpers -------------------------------------------------------------------------

    def _when(self, *, after: datetime | None = None) -> datetime:
        """A moment in the history, more often recent than old (activity grows)."""
        start = after or self.now - timedelta(seconds=self.span)
        window = max(1.0, (self.now - start).total_seconds())
        return start + timedelta(seconds=window * (self.rng.random() ** 0.6))

    def _step(self, name: str, write: Callable[[], int]) -> None:
        started = time.perf_counter()
        rows = write()
        self.report.rows[name] = self.report.rows.get(name, 0) + rows
        self.report.seconds[name] = self.report.seconds.get(name, 0.0) + time.perf_counter() - started
        self.progress(f"{name}: {rows:,} in {self.report.seconds[name]:.1f} s")

    def _numbers(self, model: type[models.Model], count: int) -> list[str]:
        from kehu.platform.numbering import next_numbers
        from kehu.platform.records import registry

        return next_numbers(registry.for_model(model).number_prefix, count)

    def _person_cn(self) -> str:
        rng = self.rng
        return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))

    def _person_en(self) -> str:
        return f"{self.rng.choice(EN_FIRST)} {self.rng.choice(EN_LAST)}"

    def _mobile(self) -> str:
        """A Chinese mobile number in a range the operators use (libphonenumber's metadata)."""
        rng = self.rng
        return f"+86{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"

    def _us_phone(self, area: str) -> str:
        return f"+1{area}{self.rng.randrange(2, 10)}{self.rng.randrange(10**6):06d}"

    def _base(self, owner: int, team: int | None, created: datetime) -> dict[str, Any]:
        updated = self._when(after=created)
        return {
            "owner_id": owner,
            "team_id": team,
            "created_at": created,
            "created_by_id": owner,
            "updated_at": updated,
            "updated_by_id": owner,
        }

    def _line(self, position: int, product: int, quantity: Decimal) -> dict[str, Any]:
        """An opportunity's or an order's product line at the catalogue price, 13 % VAT."""
        price = self.product_price[product]
        return {
            "position": position + 1,
            "product_id": product,
            "quantity": quantity,
            "unit_price": price,
            "tax_rate": Decimal("13.00"),
            "amount": price * quantity,
            "tax_amount": (price * quantity * Decimal("0.13")).quantize(Decimal("0.01")),
        }

    def _customer_sample(self, k: int, skew: float = 0.7) -> list[int]:
        """``k`` customer indexes, skewed: a few customers get many rows (big accounts)."""
        if not hasattr(self, "_customer_picker"):
            self._customer_picker = _Picker(self.rng, range(len(self.customer_ids)), skew)
        return self._customer_picker.many(self.rng, k)

    # -- steps ---------------------------------------------------------------------------

    def users(self) -> int:
        from kehu.accounts.models import Role, Team, User

        roles = {role.key: role for role in Role.objects.all()}
        password = make_password(PASSWORD)  # hashed once: Argon2 per user would take minutes
        head = Team.objects.create(name="总部 Head office")
        admin = User(username="bench-admin", role=roles["admin"], team=head, is_staff=True, password=password)
        users = [admin]
        self.reps: list[Any] = []
        for t in range(self.v.teams):
            team = Team.objects.create(name=f"销售{t + 1}组 Sales {t + 1}", parent=head)
            users.append(User(username=f"manager{t + 1}", role=roles["manager"], team=team, password=password))
            for r in range(self.v.reps_per_team):
                rep = User(
                    username=f"rep{t + 1}-{r + 1}",
                    first_name=self._person_cn()[1:],
                    last_name=self._person_cn()[0],
                    role=roles["sales"],
                    team=team,
                    password=password,
                )
                users.append(rep)
                self.reps.append(rep)
        User.objects.bulk_create(users)
        self.admin = User.objects.get(username="bench-admin")
        by_name = {u.username: u for u in User.objects.filter(username__in=[u.username for u in self.reps])}
        self.reps = [by_name[rep.username] for rep in self.reps]
        self.owner_picker = _Picker(self.rng, self.reps, skew=0.8)
        return len(users)

    def products(self) -> int:
        from kehu.sales.products.models import Product

        numbers = self._numbers(Product, self.v.products)
        rows = []
        for i in range(self.v.products):
            word = self.rng.choice(PRODUCT_WORDS)
            rows.append(
                Product(
                    number=numbers[i],
                    code=f"P{i + 1:05d}",
                    name=f"{self.rng.choice(BRANDS)}{word} {i + 1}",
                    kind="service" if "服务" in word or "培训" in word else "product",
                    unit="套",
                    tax_rate=Decimal("13.00"),
                    **self._base(self.admin.pk, self.admin.team_id, self.now - timedelta(days=1000)),
                )
            )
        Product.objects.bulk_create(rows)
        self.product_ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
        self.product_price = {
            pk: Decimal(self.rng.choice((980, 2_800, 9_800, 19_800, 49_800))) for pk in self.product_ids
        }
        return len(rows)

    def customers(self) -> int:
        from kehu.customers.models import Customer, LifecycleTransition

        rng = self.rng
        stages = ["lead"] * 30 + ["prospect"] * 20 + ["active"] * 35 + ["at_risk"] * 10 + ["churned"] * 5
        grades = ["A", "B", "B", "C", "C", "C", "D", None, None, None]
        written = 0
        for start, end in _chunks(self.v.customers, CHUNK):
            numbers = self._numbers(Customer, end - start)
            owners = self.owner_picker.many(rng, end - start)
            rows = []
            for i in range(end - start):
                owner = owners[i]
                chinese = rng.random() < 0.75
                created = self._when()
                if chinese:
                    province, city, area = rng.choice(CITIES)
                    person = rng.random() < 0.15
                    name = self._person_cn() if person else f"{city}{rng.choice(BRANDS)}{rng.choice(TRADES)}有限公司"
                    phone = (
                        self._mobile()
                        if person or rng.random() < 0.5
                        else f"+86{area[1:]}{rng.randrange(10**7, 10**8)}"
                    )
                    street = f"{rng.choice(STREETS)}{rng.randrange(1, 999)}号"
                    country = "中国"
                else:
                    province, city, area = rng.choice(US_CITIES)
                    person = rng.random() < 0.1
                    name = self._person_en() if person else f"{rng.choice(EN_WORDS)} {rng.choice(EN_TRADES)} Inc."
                    phone = self._us_phone(area)
                    street = f"{rng.randrange(1, 9999)} {rng.choice(EN_LAST)} Street"
                    country = "United States"
                rows.append(
                    dict(
                        number=numbers[i],
                        kind="person" if person else "company",
                        name=name,
                        industry=rng.choice(INDUSTRIES),
                        size="" if person else rng.choice(("1-9", "10-49", "50-199", "200-999", "1000+")),
                        source=rng.choice(("website", "referral", "exhibition", "cold_call", "partner", "")),
                        phone=phone if rng.random() < 0.9 else "",
                        email=f"c{start + i + 1}@example.{'cn' if chinese else 'com'}" if rng.random() < 0.7 else "",
                        country=country,
                        province=province,
                        city=city,
                        street=street,
                        notes=rng.choice(("", "", "", "重要客户，每季度回访", "Prefers email", "展会认识")),
                        stage_id=rng.choice(stages),
                        grade_id=rng.choice(grades),
                        **self._base(owner.pk, owner.team_id, created),
                    )
                )
            with transaction.atomic():
                self._insert(Customer, rows)
                self._insert(
                    LifecycleTransition,
                    [
                        {
                            "customer_id": c["id"],
                            "to_stage_id": c["stage_id"],
                            "actor_id": c["owner_id"],
                            "at": c["created_at"],
                        }
                        for c in rows
                    ],
                )
            for c in rows:
                self.customer_ids.append(c["id"])
                self.customer_owner.append(c["owner_id"])
                self.customer_team.append(c["team_id"])
                self.customer_created.append(c["created_at"])
                self.customer_chinese.append(c["country"] == "中国")
            written += len(rows)
        return written

    def _per_customer(self, total: int) -> list[int]:
        """Customer indexes for ``total`` related rows: every customer once (while rows
        last), the rest skewed towards big accounts; in customer order."""
        first = list(range(min(total, len(self.customer_ids))))
        return sorted(first + self._customer_sample(total - len(first)))

    def _insert(self, model: type[models.Model], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Write ``rows`` (field values by attname) through the bulk insert of the spine, and
        give each its id."""
        objs = bulk_insert(model, _unsaved(model, rows), batch_size=2_000)
        for row, obj in zip(rows, objs, strict=True):
            row["id"] = obj.pk
        self._timeline_entries(model, objs)
        return rows

    def _timeline_entries(self, model: type[models.Model], objs: list[Any]) -> None:
        """The records' timeline entries from the instances in hand, in their transaction, as
        the services' bulk create writes them (``timeline.write_created``: the entries a
        rebuild makes); a source it declines (decimals, related records it reads) is rebuilt
        by the timelines step instead."""
        from kehu.platform import timeline
        from kehu.platform.records import registry

        rt = registry.for_model_or_none(model)
        if rt is None or rt.key not in {source.record_type for source in timeline.sources()}:
            return
        if timeline.write_created(rt.key, objs):
            self.timeline_written.add(rt.key)
        else:
            self.timeline_missed.add(rt.key)

    def _related(
        self, model: type[models.Model], total: int, build: Callable[[int, str], dict[str, Any]]
    ) -> Iterator[list[dict[str, Any]]]:
        """Rows of ``model`` for ``total`` customer indexes, written chunk by chunk."""
        indexes = self._per_customer(total) if total >= len(self.customer_ids) else sorted(self._customer_sample(total))
        for start, end in _chunks(total, CHUNK * 4):
            numbers = self._numbers(model, end - start)
            rows = [build(indexes[start + i], numbers[i]) for i in range(end - start)]
            with transaction.atomic():
                yield self._insert(model, rows)

    def contacts(self) -> int:
        from kehu.customers.models import Contact

        rng = self.rng
        roles = ["decision_maker", "influencer", "user", "champion", "other", ""]

        def build(c: int, number: str) -> dict[str, Any]:
            chinese = self.customer_chinese[c]
            name = self._person_cn() if chinese else self._person_en()
            return dict(
                number=number,
                customer_id=self.customer_ids[c],
                name=name,
                title=rng.choice(("总经理", "采购经理", "技术总监", "财务", "IT Manager", "Buyer", "")),
                mobile=self._mobile() if chinese else self._us_phone("415"),
                email=f"p{number.lower()}@example.{'cn' if chinese else 'com'}" if rng.random() < 0.6 else "",
                wechat=f"wx{rng.randrange(10**8)}" if chinese and rng.random() < 0.5 else "",
                is_primary=False,
                decision_role=rng.choice(roles),
                **self._base(self.customer_owner[c], self.customer_team[c], self._when(after=self.customer_created[c])),
            )

        return sum(len(rows) for rows in self._related(Contact, self.v.contacts, build))

    def interactions(self) -> int:
        from kehu.activities.models import Interaction

        rng = self.rng
        kinds = ["call"] * 5 + ["email"] * 3 + ["meeting", "visit", "message", "note"]

        def build(c: int, number: str) -> dict[str, Any]:
            chinese = self.customer_chinese[c]
            occurred = self._when(after=self.customer_created[c])
            kind = rng.choice(kinds)
            return {
                "number": number,
                "customer_id": self.customer_ids[c],
                "kind": kind,
                "direction": rng.choice(("inbound", "outbound", "outbound")),
                "occurred_at": occurred,
                "duration_minutes": rng.choice((5, 10, 15, 30, 60)) if kind in ("call", "meeting", "visit") else None,
                "subject": rng.choice(SUBJECTS_CN if chinese else SUBJECTS_EN),
                "content": rng.choice(("", "客户询问价格和交付周期。", "Discussed the renewal and the new modules.")),
                "outcome": rng.choice(OUTCOMES),
                "owner_id": self.customer_owner[c],
                "team_id": self.customer_team[c],
                "created_at": occurred,
                "created_by_id": self.customer_owner[c],
                "updated_at": occurred,
                "updated_by_id": self.customer_owner[c],
            }

        return sum(len(rows) for rows in self._related(Interaction, self.v.interactions, build))

    def tasks(self) -> int:
        from kehu.activities.models import Task

        rng = self.rng

        def build(c: int, number: str) -> dict[str, Any]:
            due = self.now + timedelta(days=rng.randrange(-400, 45), hours=rng.randrange(0, 9))
            open_ = due > self.now - timedelta(days=30) and rng.random() < 0.7
            created = min(due, self._when(after=self.customer_created[c]))
            return dict(
                number=number,
                title=rng.choice(TASK_TITLES),
                kind=rng.choice(("follow_up", "revisit", "call", "meeting", "other")),
                customer_id=self.customer_ids[c],
                due_at=due,
                priority=rng.choice(("low", "normal", "normal", "high", "urgent")),
                status="open" if open_ else rng.choice(("done", "done", "done", "cancelled")),
                completed_at=None if open_ else due,
                **self._base(self.customer_owner[c], self.customer_team[c], created),
            )

        return sum(len(rows) for rows in self._related(Task, self.v.tasks, build))

    def needs(self) -> int:
        from kehu.customers.models import Need

        rng = self.rng

        def build(c: int, number: str) -> dict[str, Any]:
            return dict(
                number=number,
                customer_id=self.customer_ids[c],
                kind=rng.choice(("product", "service")),
                title=rng.choice(NEED_TITLES),
                priority=rng.choice(("low", "normal", "high")),
                status=rng.choice(("open", "in_progress", "met", "dropped")),
                **self._base(self.customer_owner[c], self.customer_team[c], self._when(after=self.customer_created[c])),
            )

        return sum(len(rows) for rows in self._related(Need, self.v.needs, build))

    def opportunities(self) -> int:
        from kehu.sales.opportunities.models import Opportunity, OpportunityLine, PipelineStage

        rng = self.rng
        stages = list(PipelineStage.objects.filter(pipeline__is_default=True).order_by("order", "pk"))
        open_stages = [s for s in stages if s.kind == "open"]
        won = next(s for s in stages if s.kind == "won")
        lost = next(s for s in stages if s.kind == "lost")

        def build(c: int, number: str) -> dict[str, Any]:
            roll = rng.random()
            stage = rng.choice(open_stages) if roll < 0.6 else won if roll < 0.85 else lost
            created = self._when(after=self.customer_created[c])
            closed = stage.kind != "open"
            usd = not self.customer_chinese[c]
            return dict(
                number=number,
                name=f"{rng.choice(PRODUCT_WORDS)} {created:%Y}",
                customer_id=self.customer_ids[c],
                pipeline_id=stage.pipeline_id,
                stage_id=stage.pk,
                amount=Decimal(int(rng.lognormvariate(11, 1))),
                currency="USD" if usd else "CNY",
                probability=stage.probability,
                forecast_category=stage.forecast_category,
                expected_close_date=(created + timedelta(days=rng.randrange(15, 180))).date(),
                status=stage.kind,
                closed_at=self._when(after=created) if closed else None,
                stage_entered_at=self._when(after=created),
                **self._base(self.customer_owner[c], self.customer_team[c], created),
            )

        written = 0
        for rows in self._related(Opportunity, self.v.opportunities, build):
            lines = []
            for opp in rows:
                for position in range(rng.randrange(1, 4)):
                    product = rng.choice(self.product_ids)
                    quantity = Decimal(rng.randrange(1, 20))
                    lines.append({"opportunity_id": opp["id"], **self._line(position, product, quantity)})
            self._insert(OpportunityLine, lines)
            written += len(rows)
        return written

    def contracts(self) -> int:
        from kehu.sales.contracts.models import Contract, PaymentInstalment

        rng = self.rng

        def build(c: int, number: str) -> dict[str, Any]:
            signed = self._when(after=self.customer_created[c])
            start = signed.date()
            end = start + timedelta(days=365)
            status = "active" if end > self.now.date() else rng.choice(("completed", "expired"))
            return dict(
                number=number,
                customer_id=self.customer_ids[c],
                title=f"{rng.choice(PRODUCT_WORDS)}合同 {start:%Y}",
                signed_date=start,
                start_date=start,
                end_date=end,
                amount=Decimal(int(rng.lognormvariate(11.5, 0.8))),
                currency="CNY" if self.customer_chinese[c] else "USD",
                status=status,
                **self._base(self.customer_owner[c], self.customer_team[c], signed),
            )

        written = 0
        for rows in self._related(Contract, self.v.contracts, build):
            plan = []
            for contract in rows:
                parts = rng.choice((1, 2, 4))
                share = (contract["amount"] / parts).quantize(Decimal("0.01"))
                for k in range(parts):
                    plan.append(
                        {
                            "contract_id": contract["id"],
                            "due_date": contract["start_date"] + timedelta(days=k * 90),
                            "amount": share,
                        }
                    )
            self._insert(PaymentInstalment, plan)
            written += len(rows)
        return written

    def orders(self) -> int:
        from kehu.sales.contracts.models import Order, OrderLine

        rng = self.rng
        pending: dict[int, list[tuple[int, Decimal]]] = {}

        def build(c: int, number: str) -> dict[str, Any]:
            created = self._when(after=self.customer_created[c])
            lines = [(rng.choice(self.product_ids), Decimal(rng.randrange(1, 10))) for _ in range(rng.randrange(1, 5))]
            subtotal = sum((self.product_price[p] * q for p, q in lines), Decimal(0))
            tax = (subtotal * Decimal("0.13")).quantize(Decimal("0.01"))
            order = dict(
                number=number,
                customer_id=self.customer_ids[c],
                order_date=created.date(),
                status=rng.choice(("confirmed", "fulfilled", "fulfilled", "fulfilled", "cancelled", "draft")),
                currency="CNY" if self.customer_chinese[c] else "USD",
                subtotal=subtotal,
                tax=tax,
                total=subtotal + tax,
                **self._base(self.customer_owner[c], self.customer_team[c], created),
            )
            pending[id(order)] = lines
            return order

        written = 0
        for rows in self._related(Order, self.v.orders, build):
            lines = []
            for order in rows:
                for position, (product, quantity) in enumerate(pending.pop(id(order))):
                    lines.append({"order_id": order["id"], **self._line(position, product, quantity)})
            self._insert(OrderLine, lines)
            written += len(rows)
        return written

    def payments(self) -> int:
        from kehu.sales.contracts.models import Payment

        rng = self.rng

        def build(c: int, number: str) -> dict[str, Any]:
            received = self._when(after=self.customer_created[c])
            return dict(
                number=number,
                customer_id=self.customer_ids[c],
                received_on=received.date(),
                amount=Decimal(int(rng.lognormvariate(10, 1))),
                currency="CNY" if self.customer_chinese[c] else "USD",
                method=rng.choice(("bank_transfer", "bank_transfer", "alipay", "wechat_pay", "card")),
                reference=f"TX{rng.randrange(10**10):010d}",
                **self._base(self.customer_owner[c], self.customer_team[c], received),
            )

        return sum(len(rows) for rows in self._related(Payment, self.v.payments, build))

    def search_index(self) -> int:
        from kehu.platform.search import index

        return sum(report.rows for report in index.bulk_rebuild())

    def timelines(self) -> int:
        from kehu.platform import timeline
        from kehu.platform.models import TimelineEntry

        written = 0
        for source in timeline.sources():
            key = source.record_type
            if key in self.timeline_written and key not in self.timeline_missed:
                written += TimelineEntry.objects.filter(origin=TimelineEntry.Origin.RECORD, record_type=key).count()
            else:
                written += timeline.rebuild(key)
        return written

    def run(self) -> Report:
        for name, step in [
            ("users", self.users),
            ("products", self.products),
            ("customers", self.customers),
            ("contacts", self.contacts),
            ("interactions", self.interactions),
            ("tasks", self.tasks),
            ("needs", self.needs),
            ("opportunities", self.opportunities),
            ("contracts", self.contracts),
            ("orders", self.orders),
            ("payments", self.payments),
            ("search index", self.search_index),
            ("timelines", self.timelines),
        ]:
            with _generation_session():
                self._step(name, step)
        return self.report
