"""Demo catalogue (``kehu demo``): a category tree (软件 / 硬件 / 服务), about thirty products and
services with Chinese and English names and prices in CNY and USD, and monthly exchange rates
of USD, EUR, HKD and JPY for the past three years. Products are made through the services
(there are few); the rates in one bulk upsert. Codes already there are skipped, so running
it twice adds nothing."""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kehu.platform import money, rates
from kehu.platform import services as record_services
from kehu.platform.context import Context, Source
from kehu.platform.models import ExchangeRate
from kehu.sales.products import services
from kehu.sales.products.models import Product, ProductCategory
from kehu.sales.products.records import PRODUCT

# category path, code, Chinese name, English name, kind, unit, CNY price, tax rate
CATALOGUE: list[tuple[str, str, str, str, str, str, str, str]] = [
    ("软件/许可证", "SW-CRM-STD", "客户管理系统 标准版", "CRM Standard licence", "product", "套", "19800", "13"),
    ("软件/许可证", "SW-CRM-PRO", "客户管理系统 专业版", "CRM Professional licence", "product", "套", "39800", "13"),
    ("软件/许可证", "SW-CRM-ENT", "客户管理系统 企业版", "CRM Enterprise licence", "product", "套", "99800", "13"),
    ("软件/许可证", "SW-ERP-BAS", "进销存管理软件", "Inventory management software", "product", "套", "12800", "13"),
    (
        "软件/订阅",
        "SW-SaaS-10",
        "云服务订阅 10用户/年",
        "Cloud subscription, 10 users/year",
        "service",
        "年",
        "9600",
        "6",
    ),
    (
        "软件/订阅",
        "SW-SaaS-50",
        "云服务订阅 50用户/年",
        "Cloud subscription, 50 users/year",
        "service",
        "年",
        "42000",
        "6",
    ),
    ("软件/订阅", "SW-API-PLUS", "开放接口增强包", "API Plus add-on", "service", "年", "6800", "6"),
    ("软件/订阅", "SW-SMS-10K", "短信包 1万条", "SMS bundle, 10,000 messages", "service", "包", "450", "6"),
    ("软件/插件", "SW-BI-ADD", "数据分析插件", "Analytics add-on", "product", "套", "15800", "13"),
    ("软件/插件", "SW-MOB-ADD", "移动端插件", "Mobile app add-on", "product", "套", "4800", "13"),
    ("硬件/终端", "HW-POS-A8", "智能收银终端 A8", "Smart POS terminal A8", "product", "台", "2680", "13"),
    ("硬件/终端", "HW-PAD-10", "工业平板 10英寸", "Rugged tablet 10-inch", "product", "台", "3290", "13"),
    ("硬件/终端", "HW-SCAN-2D", "二维码扫描枪", "2D barcode scanner", "product", "把", "368", "13"),
    ("硬件/终端", "HW-PRN-80", "热敏小票打印机", "Thermal receipt printer", "product", "台", "599", "13"),
    ("硬件/网络", "HW-RTR-AX", "企业级无线路由器", "Business Wi-Fi router", "product", "台", "1280", "13"),
    ("硬件/网络", "HW-SW-24", "24口千兆交换机", "24-port gigabit switch", "product", "台", "1860", "13"),
    ("硬件/网络", "HW-NAS-4B", "4盘位网络存储", "4-bay NAS", "product", "台", "4599", "13"),
    ("硬件/服务器", "HW-SRV-R2", "机架式服务器 2U", "2U rack server", "product", "台", "36800", "13"),
    ("硬件/服务器", "HW-UPS-3K", "不间断电源 3kVA", "UPS 3 kVA", "product", "台", "5200", "13"),
    ("服务/实施", "SV-IMPL-STD", "标准实施服务", "Standard implementation", "service", "项", "20000", "6"),
    ("服务/实施", "SV-IMPL-DAY", "现场实施 人天", "On-site consulting, per day", "service", "人天", "2500", "6"),
    ("服务/实施", "SV-MIGR", "数据迁移服务", "Data migration", "service", "项", "8000", "6"),
    ("服务/实施", "SV-CUST-HR", "定制开发 小时", "Custom development, per hour", "service", "小时", "480", "6"),
    ("服务/培训", "SV-TRN-ADM", "管理员培训", "Administrator training", "service", "场", "3000", "6"),
    ("服务/培训", "SV-TRN-USR", "用户培训 (线上)", "End-user training (online)", "service", "场", "1500", "6"),
    ("服务/维保", "SV-SUP-GOLD", "金牌维保 年度", "Gold support, yearly", "service", "年", "18000", "6"),
    ("服务/维保", "SV-SUP-SLV", "银牌维保 年度", "Silver support, yearly", "service", "年", "9000", "6"),
    ("服务/维保", "SV-HW-WARR", "硬件延保 3年", "Hardware extended warranty, 3 years", "service", "份", "1200", "6"),
    ("服务/维保", "SV-ONSITE", "上门维修 次", "On-site repair visit", "service", "次", "600", "6"),
    ("服务/培训", "SV-CERT", "认证考试", "Certification exam", "service", "人次", "800", "6"),
]

# a starting rate (CNY per unit) and the monthly drift of each currency
RATE_WALK: dict[str, tuple[Decimal, float]] = {
    "USD": (Decimal("6.9500"), 0.012),
    "EUR": (Decimal("7.4800"), 0.015),
    "HKD": (Decimal("0.8870"), 0.011),
    "JPY": (Decimal("0.0525"), 0.018),
}
RATE_RANGE: dict[str, tuple[Decimal, Decimal]] = {
    "USD": (Decimal("6.70"), Decimal("7.35")),
    "EUR": (Decimal("7.20"), Decimal("8.30")),
    "HKD": (Decimal("0.855"), Decimal("0.940")),
    "JPY": (Decimal("0.0455"), Decimal("0.0560")),
}


@dataclass
class DemoCatalogue:
    categories: int = 0
    products: int = 0
    rates: int = 0


def _month_starts(today: datetime.date, months: int) -> list[datetime.date]:
    first = today.replace(day=1)
    days = []
    for back in range(months - 1, -1, -1):
        year, month = divmod(first.year * 12 + first.month - 1 - back, 12)
        days.append(datetime.date(year, month + 1, 1))
    return days


def demo_rates(seed: int, today: datetime.date | None = None) -> list[dict[str, Any]]:
    """Monthly rates for the past three years: a bounded random walk around realistic values."""
    rng = random.Random(seed)  # noqa: S311 -- demo data, not secrets
    days = _month_starts(today or datetime.date.today(), 36)
    items: list[dict[str, Any]] = []
    for code, (start, drift) in RATE_WALK.items():
        low, high = RATE_RANGE[code]
        rate = start
        for day in days:
            step = Decimal(str(round(rng.gauss(0, drift), 5)))
            rate = min(max(rate * (1 + step), low), high).quantize(Decimal("0.0001"))
            items.append({"currency": code, "rate_date": day, "rate": rate})
    return items


def create_demo_catalogue(*, manager: Any, admin: Any, seed: int = 42) -> DemoCatalogue:
    """The categories, products with prices and exchange rates; ``manager`` owns the
    products, ``admin`` keeps the rates."""
    result = DemoCatalogue()
    rng = random.Random(seed)  # noqa: S311 -- demo data, not secrets
    ctx = Context(user=manager, source=Source.CLI)
    categories: dict[str, ProductCategory] = {}
    for path in dict.fromkeys(row[0] for row in CATALOGUE):
        parent = None
        for depth, name in enumerate(path.split("/")):
            key = "/".join(path.split("/")[: depth + 1])
            if key not in categories:
                found = ProductCategory.objects.filter(name=name, parent=parent).first()
                if found is None:
                    found = services.category_save(ctx, None, {"name": name, "parent": parent})
                    result.categories += 1
                categories[key] = found
            parent = categories[key]
    existing = set(Product.all_objects.values_list("code", flat=True))
    for n, (path, code, zh, en, kind, unit, price, tax) in enumerate(CATALOGUE):
        if code in existing:
            continue
        chinese = n % 3 != 2  # two in three with a Chinese name, the rest in English
        product = record_services.record_create(
            PRODUCT,
            ctx=ctx,
            data={
                "code": code,
                "name": zh if chinese else en,
                "kind": kind,
                "category": categories[path],
                "unit": unit,
                "tax_rate": Decimal(tax),
                "description": en if chinese else zh,
                "active": rng.random() > 0.05,
            },
        )
        usd = (Decimal(price) / Decimal("7.1")).quantize(Decimal("1")) - Decimal("0.01")  # a "list" price: 2799.99
        prices = {"CNY": Decimal(price), "USD": usd}
        services.product_set_prices(ctx, product, prices)
        result.products += 1
    if not ExchangeRate.objects.exists():
        outcome = rates.rates_upsert(
            Context(user=admin, source=Source.CLI),
            [item for item in demo_rates(seed) if item["currency"] != money.reporting_currency()],
            source=ExchangeRate.Source.MANUAL,
        )
        result.rates = outcome.created
    return result
