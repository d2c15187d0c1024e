"""Realistic bilingual demo customers and contacts (``kehu demo``): half from mainland China
(Faker's zh_CN locale), half from the United States (en_US), written through the services so
they are validated, numbered, audited and announced like any other record."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers
from django.db import transaction
from faker import Faker

from kehu.customers.models import CompanySize, CustomerKind, CustomerSource
from kehu.customers.services import contact_create, customer_create
from kehu.platform.context import Context, Source


@dataclass(frozen=True)
class Industry:
    zh: str
    en: str
    zh_words: tuple[str, ...]  # what a Chinese company in this industry calls itself


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    """``"王 wang 李 li"`` → ``(("王", "wang"), ("李", "li"))``."""
    words = text.split()
    return tuple(zip(words[::2], words[1::2], strict=True))


INDUSTRIES = [
    Industry("软件和信息技术", "Software", ("科技", "信息技术", "软件")),
    Industry("制造业", "Manufacturing", ("机械", "精密制造", "电子")),
    Industry("零售", "Retail", ("商贸", "百货")),
    Industry("医疗健康", "Healthcare", ("医疗器械", "生物科技")),
    Industry("教育培训", "Education", ("教育科技", "培训")),
    Industry("金融服务", "Financial services", ("投资", "金融信息服务")),
    Industry("物流运输", "Logistics", ("物流", "供应链管理")),
    Industry("建筑与房地产", "Construction", ("建设工程", "置业")),
    Industry("餐饮酒店", "Hospitality", ("餐饮管理", "酒店管理")),
    Industry("新能源", "Energy", ("新能源", "能源科技")),
]

# province, city, city in pinyin, districts, sales region, telephone area code, postcode prefix
CN_CITIES: list[tuple[str, str, str, tuple[str, ...], str, str, str]] = [
    ("上海市", "上海市", "sh", ("浦东新区", "徐汇区", "静安区", "闵行区"), "east", "21", "200"),
    ("浙江省", "杭州市", "hz", ("西湖区", "滨江区", "余杭区"), "east", "571", "310"),
    ("江苏省", "南京市", "nj", ("鼓楼区", "建邺区", "江宁区"), "east", "25", "210"),
    ("江苏省", "苏州市", "sz", ("姑苏区", "吴中区", "虎丘区"), "east", "512", "215"),
    ("广东省", "广州市", "gz", ("天河区", "越秀区", "海珠区", "番禺区"), "south", "20", "510"),
    ("广东省", "深圳市", "sz", ("南山区", "福田区", "宝安区", "龙岗区"), "south", "755", "518"),
    ("福建省", "厦门市", "xm", ("思明区", "湖里区"), "south", "592", "361"),
    ("北京市", "北京市", "bj", ("朝阳区", "海淀区", "东城区", "丰台区"), "north", "10", "100"),
    ("四川省", "成都市", "cd", ("武侯区", "锦江区", "青羊区"), "west", "28", "610"),
    ("湖北省", "武汉市", "wh", ("洪山区", "江汉区", "武昌区"), "central", "27", "430"),
]
# Chinese names and brand words with their pinyin, so e-mail addresses match the people and firms.
CN_SURNAMES = _pairs(
    "王 wang 李 li 张 zhang 刘 liu 陈 chen 杨 yang 黄 huang 赵 zhao 吴 wu 周 zhou 徐 xu 孙 sun 马 ma 朱 zhu "
    "胡 hu 郭 guo 何 he 林 lin 罗 luo 高 gao 郑 zheng 梁 liang 谢 xie 宋 song 唐 tang 韩 han 冯 feng 邓 deng"
)
CN_GIVEN_NAMES = _pairs(
    "伟 wei 芳 fang 娜 na 敏 min 静 jing 丽 li 强 qiang 磊 lei 军 jun 洋 yang 勇 yong 艳 yan 杰 jie 涛 tao "
    "明 ming 超 chao 秀英 xiuying 霞 xia 平 ping 建华 jianhua 晓东 xiaodong 海燕 haiyan 志强 zhiqiang 文静 wenjing "
    "子涵 zihan 宇轩 yuxuan 欣怡 xinyi 浩然 haoran 思远 siyuan 雨婷 yuting 俊杰 junjie 佳琪 jiaqi"
)
CN_BRANDS = _pairs(
    "华信 huaxin 恒达 hengda 远航 yuanhang 中科 zhongke 金桥 jinqiao 东方 dongfang 新锐 xinrui 博远 boyuan "
    "天成 tiancheng 海纳 haina 瑞丰 ruifeng 鼎盛 dingsheng 宏图 hongtu 启明 qiming 星辰 xingchen 万通 wantong "
    "联创 lianchuang 嘉禾 jiahe 盛世 shengshi 安泰 antai 智联 zhilian 云帆 yunfan 正邦 zhengbang 凯越 kaiyue "
    "同舟 tongzhou 光华 guanghua 永信 yongxin 华通 huatong 明德 mingde 睿智 ruizhi"
)
CN_ROADS = ("人民路", "中山路", "解放路", "建设路", "科技园路", "文化路", "和平路", "长江路", "延安路", "创新大道")
CN_TITLES = (
    ("总经理", "总经办"),
    ("采购经理", "采购部"),
    ("技术总监", "技术部"),
    ("财务主管", "财务部"),
    ("销售经理", "销售部"),
    ("行政主管", "行政部"),
    ("IT 经理", "信息部"),
)

# state, abbreviation, city, area codes
US_CITIES: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("California", "CA", "San Francisco", ("415", "628")),
    ("California", "CA", "Los Angeles", ("213", "310")),
    ("New York", "NY", "New York", ("212", "646")),
    ("Texas", "TX", "Austin", ("512", "737")),
    ("Washington", "WA", "Seattle", ("206",)),
    ("Illinois", "IL", "Chicago", ("312", "773")),
    ("Massachusetts", "MA", "Boston", ("617",)),
    ("Colorado", "CO", "Denver", ("303", "720")),
    ("Georgia", "GA", "Atlanta", ("404", "678")),
]
US_TITLES = (
    ("CEO", "Management"),
    ("Purchasing Manager", "Procurement"),
    ("CTO", "Engineering"),
    ("Head of Finance", "Finance"),
    ("Operations Director", "Operations"),
    ("Office Manager", "Administration"),
    ("IT Manager", "IT"),
)

SIZES = [
    (CompanySize.MICRO, 20),
    (CompanySize.SMALL, 35),
    (CompanySize.MEDIUM, 25),
    (CompanySize.LARGE, 15),
    (CompanySize.ENTERPRISE, 5),
]
SOURCES = [
    (CustomerSource.WEBSITE, 25),
    (CustomerSource.REFERRAL, 20),
    (CustomerSource.EXHIBITION, 15),
    (CustomerSource.COLD_CALL, 10),
    (CustomerSource.ADVERTISING, 10),
    (CustomerSource.PARTNER, 10),
    (CustomerSource.SOCIAL, 8),
    (CustomerSource.OTHER, 2),
]


@dataclass(frozen=True)
class DemoOwners:
    east: Any  # sales rep for eastern China
    south: Any  # sales rep for southern China
    manager: Any

    def pick(self, rng: random.Random, region: str) -> Any:
        if region == "east":
            return self.east if rng.random() < 0.8 else self.manager
        if region == "south":
            return self.south if rng.random() < 0.8 else self.manager
        return rng.choices([self.east, self.south, self.manager], weights=[4, 4, 2])[0]


def _weighted(rng: random.Random, choices: Sequence[tuple[Any, int]]) -> Any:
    return rng.choices([value for value, _w in choices], weights=[w for _v, w in choices])[0]


def _valid(number: str, region: str) -> str:
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return ""
    return number if phonenumbers.is_valid_number(parsed) else ""


def _cn_mobile(fake: Faker) -> str:
    for _attempt in range(20):
        number = _valid(fake.phone_number(), "CN")
        if number:
            return number
    return ""


def _cn_landline(rng: random.Random, area: str) -> str:
    for _attempt in range(20):
        number = _valid(f"0{area}-{rng.randint(5, 8)}{rng.randint(0, 9_999_999):07d}", "CN")
        if number:
            return number
    return ""


def _us_phone(rng: random.Random, areas: Sequence[str]) -> str:
    for _attempt in range(20):
        number = _valid(f"+1 ({rng.choice(areas)}) {rng.randint(201, 989)}-{rng.randint(0, 9999):04d}", "US")
        if number:
            return number
    return ""


def _chinese_person(rng: random.Random) -> tuple[str, str]:
    """A Chinese name and its pinyin (``wang.xiaodong``)."""
    (surname, surname_py), (given, given_py) = rng.choice(CN_SURNAMES), rng.choice(CN_GIVEN_NAMES)
    return surname + given, f"{given_py}.{surname_py}"


def _chinese_customer(fake: Faker, rng: random.Random) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
    province, city, city_py, districts, region, area, postcode = rng.choice(CN_CITIES)
    industry = rng.choice(INDUSTRIES)
    kind = CustomerKind.PERSON if rng.random() < 0.1 else CustomerKind.COMPANY
    brand, brand_py = rng.choice(CN_BRANDS)
    domain = f"{brand_py}-{city_py}.com.cn"
    if kind == CustomerKind.COMPANY:
        size = _weighted(rng, SIZES)
        suffix = "股份有限公司" if size in (CompanySize.LARGE, CompanySize.ENTERPRISE) else "有限公司"
        name = f"{city.removesuffix('市')}{brand}{rng.choice(industry.zh_words)}{suffix}"
        phone, email, website = _cn_landline(rng, area), f"info@{domain}", f"https://www.{domain}"
    else:
        size = ""
        name, name_py = _chinese_person(rng)
        mail_domain = rng.choice(["qq.com", "163.com", "126.com", "sina.com", "foxmail.com"])
        phone, email, website = _cn_mobile(fake), f"{name_py.replace('.', '')}{rng.randint(1, 99)}@{mail_domain}", ""
    customer = {
        "kind": kind,
        "name": name,
        "industry": industry.zh if kind == CustomerKind.COMPANY else "",
        "size": size,
        "source": _weighted(rng, SOURCES),
        "phone": phone,
        "email": email,
        "website": website,
        "country": "中国",
        "province": province,
        "city": city,
        "district": rng.choice(districts),
        "street": f"{rng.choice(CN_ROADS)}{rng.randint(1, 999)}号{fake.company_prefix()}大厦{rng.randint(2, 30)}层",
        "postal_code": f"{postcode}{rng.randint(0, 999):03d}",
    }
    contacts = []
    if kind == CustomerKind.PERSON:
        contacts.append({"name": name, "mobile": phone, "email": email, "is_primary": True})
    else:
        for index, (title, department) in enumerate(rng.sample(CN_TITLES, rng.randint(1, 3))):
            person, person_py = _chinese_person(rng)
            contacts.append(
                {
                    "name": person,
                    "title": title,
                    "department": department,
                    "mobile": _cn_mobile(fake),
                    "phone": phone if rng.random() < 0.3 else "",
                    "email": f"{person_py}@{domain}",
                    "wechat": f"{person_py.replace('.', '_')}{rng.randint(80, 99)}" if rng.random() < 0.7 else "",
                    "is_primary": index == 0,
                }
            )
    return customer, region, contacts


def _english_customer(fake: Faker, rng: random.Random) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
    state, abbr, city, areas = rng.choice(US_CITIES)
    industry = rng.choice(INDUSTRIES)
    kind = CustomerKind.PERSON if rng.random() < 0.1 else CustomerKind.COMPANY
    if kind == CustomerKind.COMPANY:
        name = fake.company()
        slug = "".join(ch for ch in name.split()[0].lower() if ch.isalnum()) or "company"
        domain = f"{slug}{rng.choice(['', 'corp', 'group', 'inc'])}.com"
        size, phone, email, website = (
            _weighted(rng, SIZES),
            _us_phone(rng, areas),
            f"info@{domain}",
            f"https://www.{domain}",
        )
    else:
        name, domain = fake.name(), fake.free_email_domain()
        size, phone, email, website = "", _us_phone(rng, areas), f"{fake.user_name()}@{domain}", ""
    customer = {
        "kind": kind,
        "name": name,
        "industry": industry.en if kind == CustomerKind.COMPANY else "",
        "size": size,
        "source": _weighted(rng, SOURCES),
        "phone": phone,
        "email": email,
        "website": website,
        "country": "United States",
        "province": state,
        "city": city,
        "street": fake.street_address(),
        "postal_code": fake.zipcode_in_state(abbr),
    }
    contacts = []
    if kind == CustomerKind.PERSON:
        contacts.append({"name": name, "mobile": phone, "email": email, "is_primary": True})
    else:
        for index, (title, department) in enumerate(rng.sample(US_TITLES, rng.randint(1, 3))):
            first, last = fake.first_name(), fake.last_name()
            contacts.append(
                {
                    "name": f"{first} {last}",
                    "title": title,
                    "department": department,
                    "mobile": _us_phone(rng, areas),
                    "phone": phone if rng.random() < 0.3 else "",
                    "email": f"{first}.{last}@{domain}".lower(),
                    "is_primary": index == 0,
                }
            )
    return customer, "us", contacts


# Where demo customers are in their lifecycle, and the path that led there.
STAGE_WEIGHTS = [("lead", 25), ("prospect", 20), ("active", 35), ("at_risk", 10), ("churned", 10)]
STAGE_PATHS = {
    "lead": [],
    "prospect": ["prospect"],
    "active": ["prospect", "active"],
    "at_risk": ["prospect", "active", "at_risk"],
    "churned": ["prospect", "active", "at_risk", "churned"],
}
STAGE_REASONS = {
    "prospect": ("确认了采购需求和预算", "Confirmed a need and a budget"),
    "active": ("签订了第一份合同", "Signed the first contract"),
    "at_risk": ("连续两个季度没有下单", "No order for two quarters"),
    "churned": ("转向了竞争对手，价格更低", "Moved to a cheaper competitor"),
}
GRADE_WEIGHTS: dict[str, list[tuple[str | None, int]]] = {
    "lead": [(None, 6), ("C", 2), ("D", 2)],
    "prospect": [(None, 3), ("B", 3), ("C", 3), ("D", 1)],
    "active": [("A", 3), ("B", 4), ("C", 3)],
    "at_risk": [("B", 2), ("C", 5), ("D", 3)],
    "churned": [("D", 6), (None, 4)],
}
NEEDS = [
    ("product", "办公电脑更新换代", "Replace the office laptops", "商务笔记本 14 寸", 'Business laptop 14"'),
    ("product", "仓储管理系统", "Warehouse management system", "WMS 标准版", "WMS Standard"),
    ("service", "年度设备维保", "Yearly maintenance contract", "", ""),
    ("service", "新员工系统培训", "Training for new staff", "", ""),
    ("product", "门店收银终端", "Point-of-sale terminals for the shops", "POS 终端", "POS terminal"),
    ("service", "数据迁移", "Data migration from the old system", "", ""),
    ("product", "视频会议设备", "Video conferencing kit", "会议室套装", "Meeting room kit"),
]
DECISION_ROLES = ["decision_maker", "influencer", "user", "champion", "blocker"]
CHANNELS = [("wechat", 5), ("mobile", 3), ("email", 3), ("phone", 1), ("visit", 1), ("", 2)]
BEST_TIMES = (
    ("工作日上午", "weekday mornings"),
    ("下午三点以后", "after 3 pm"),
    ("周三、周四", "Wednesdays and Thursdays"),
)


def _contact_extras(rng: random.Random, index: int, chinese: bool, fake: Faker) -> dict[str, Any]:
    """Decision role, birthday and contact preferences of a demo contact (``index`` 0: the boss)."""
    extras: dict[str, Any] = {
        "decision_role": "decision_maker" if index == 0 else rng.choice(DECISION_ROLES[1:]),
        "preferred_channel": _weighted(rng, CHANNELS),
    }
    if rng.random() < 0.5:
        extras["birthday"] = fake.date_of_birth(minimum_age=25, maximum_age=60)
    if rng.random() < 0.3:
        extras["best_time"] = rng.choice(BEST_TIMES)[0 if chinese else 1]
    if chinese and rng.random() < 0.3:
        extras["qq"] = str(rng.randint(10_000_000, 2_999_999_999))
    if rng.random() < 0.04:
        extras["do_not_contact"] = True
        extras["do_not_contact_reason"] = "要求不要电话联系" if chinese else "Asked not to be called"
    return extras


def _group_name(parent: Any, city: str, chinese: bool) -> str:
    base = parent.name.removesuffix("股份有限公司").removesuffix("有限公司")
    return f"{base}（{city.removesuffix('市')}）分公司" if chinese else f"{parent.name} – {city}"


def create_demo_customers(*, count: int, owners: DemoOwners, seed: int = 42) -> tuple[int, int]:
    """Create ``count`` customers (alternately Chinese and American) with 1–3 contacts each,
    owned by the given users: spread over the lifecycle stages with their history, graded, a
    few group accounts with subsidiaries, needs, decision roles and reporting lines. The same
    seed gives the same data. Returns (customers, contacts)."""
    from kehu.customers.lifecycle import change_stage
    from kehu.customers.services import need_create

    rng = random.Random(seed)  # noqa: S311 -- demo data, not secrets
    fake = Faker(["zh_CN", "en_US"])
    fake.seed_instance(seed)
    zh, en = fake["zh_CN"], fake["en_US"]
    contacts_made = 0
    groups: dict[bool, Any] = {}  # the latest group parent per language
    with transaction.atomic():  # one transaction: a few seconds for hundreds of records on SQLite
        for index in range(count):
            chinese = index % 2 == 0
            customer_data, region, contacts = _chinese_customer(zh, rng) if chinese else _english_customer(en, rng)
            owner = owners.pick(rng, region)
            stage = _weighted(rng, STAGE_WEIGHTS)
            grade = _weighted(rng, GRADE_WEIGHTS[stage])
            customer_data["grade"] = grade
            parent = groups.get(chinese)
            is_company = customer_data["kind"] == CustomerKind.COMPANY
            if is_company and index % 20 in (2, 3, 4, 5) and parent is not None:  # a subsidiary
                owner = parent.owner
                customer_data["parent"] = parent
                customer_data["name"] = _group_name(parent, customer_data["city"], chinese)
            ctx = Context(user=owner, source=Source.CLI)
            customer = customer_create(ctx=ctx, data=customer_data)
            if is_company and index % 20 in (0, 1):
                groups[chinese] = customer
            for step in STAGE_PATHS[stage]:
                change_stage(ctx, customer, step, STAGE_REASONS[step][0 if chinese else 1])
            boss = None
            for number, contact in enumerate(contacts):
                extras = _contact_extras(rng, number, chinese, zh if chinese else en)
                if boss is not None:
                    extras["reports_to"] = boss
                made = contact_create(ctx=ctx, data={"customer": customer, **contact, **extras})
                boss = boss or made
                contacts_made += 1
            for _need in range(rng.choice([0, 0, 1, 1, 2])):
                kind, title_zh, title_en, product_zh, product_en = rng.choice(NEEDS)
                need_create(
                    ctx=ctx,
                    data={
                        "customer": customer,
                        "kind": kind,
                        "title": title_zh if chinese else title_en,
                        "product": product_zh if chinese else product_en,
                        "priority": rng.choice(["low", "normal", "normal", "high", "urgent"]),
                        "status": rng.choice(["open", "open", "in_progress", "met", "dropped"]),
                    },
                )
    return count, contacts_made
