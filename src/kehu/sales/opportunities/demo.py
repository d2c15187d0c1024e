"""Demo opportunities and quotas (``kehu demo``): one to three deals for most new customers,
created over the last two years in both pipelines and at every stage, amounts mostly in CNY
and some in USD, some priced with product lines from the demo catalogue. Customers the
lifecycle shows as won (active, at risk, churned) have won deals (closed when they were won);
leads and prospects only open and lost ones, so the pipeline and the lifecycle agree. Each
deal's stage history walks the pipeline from its first stage to where it is, with the time
spent in each stage, like ``opportunity_move`` writes it. Quotas for the sales users: the past
twelve months and the next three.

Written in bulk (numbers reserved in one range, one ``bulk_create`` per table, audit entries
in batches, then the search index and the timelines in a few statements), so ``kehu demo``
stays fast. Runs after the catalogue (its products and exchange rates) and before the
contracts (which turn the won deals into contracts and orders)."""

from __future__ import annotations

import datetime
import random
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from kehu.platform import audit as audit_log
from kehu.platform import money, search, timeline
from kehu.platform.context import Context, Source
from kehu.platform.models import AuditAction, AuditEntry
from kehu.platform.numbering import next_numbers
from kehu.sales.opportunities import calc
from kehu.sales.opportunities.models import (
    Opportunity,
    OpportunityLine,
    OpportunitySource,
    OpportunityStageChange,
    OpportunityStatus,
    Pipeline,
    PipelineStage,
    Quota,
    StageKind,
)

WON_CUSTOMER_STAGES = {"active", "at_risk", "churned"}
NAMES_ZH = ["年度采购", "系统升级", "门店扩容", "新工厂项目", "云服务订阅", "设备更新", "二期项目", "数据分析平台"]
NAMES_EN = [
    "Annual purchase",
    "System upgrade",
    "Store roll-out",
    "New plant",
    "Cloud subscription",
    "Hardware refresh",
]
RENEWAL_ZH, RENEWAL_EN = "续约", "Renewal"
NEXT_ZH = ["发送报价", "安排演示", "约见采购负责人", "确认技术方案", "跟进合同条款"]
NEXT_EN = ["Send the quote", "Book a demo", "Meet the buyer", "Confirm the solution", "Follow up on the terms"]
LOST_ZH = ["价格高于竞争对手", "客户预算取消", "选择了竞争对手的产品", "项目无限期推迟"]
LOST_EN = ["Price above the competition", "Budget cancelled", "Chose a competitor", "Project postponed indefinitely"]
SOURCES = [s.value for s in OpportunitySource] + ["", ""]


@dataclass
class DemoOpportunities:
    opportunities: int = 0
    won: int = 0
    lost: int = 0
    lines: int = 0
    quotas: int = 0


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _at(start: datetime.datetime, end: datetime.datetime, share: float) -> datetime.datetime:
    return start + (end - start) * share


def _month(day: datetime.date, offset: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + offset
    return datetime.date(index // 12, index % 12 + 1, 1)


def create_demo_opportunities(
    *, seed: int = 42, customers_after: int = 0, now: datetime.datetime | None = None
) -> DemoOpportunities:
    """Opportunities for the customers whose id is above ``customers_after`` (the ones just
    made) and quotas for the sales users; the same seed gives the same data."""
    from kehu.customers.models import Contact, Customer
    from kehu.sales.opportunities.records import OPPORTUNITY
    from kehu.sales.products.models import ProductPrice

    rng = random.Random(seed + 6)  # noqa: S311 -- demo data, not secrets
    now = now or timezone.now()
    today = timezone.localdate(now)
    customers = list(Customer.objects.filter(pk__gt=customers_after).select_related("owner", "stage").order_by("pk"))
    pipelines = {p.key: p for p in Pipeline.objects.filter(key__in=["new_business", "renewal"], active=True)}
    if not customers or "new_business" not in pipelines:
        return DemoOpportunities(quotas=_quotas(rng, today))
    stages: dict[int, list[PipelineStage]] = defaultdict(list)
    for stage in PipelineStage.objects.filter(pipeline__in=pipelines.values(), active=True).order_by("order", "id"):
        stages[stage.pipeline_id].append(stage)
    contacts: dict[int, list[int]] = defaultdict(list)
    for contact_id, customer_id in Contact.objects.filter(customer_id__gt=customers_after).values_list(
        "pk", "customer_id"
    ):
        contacts[customer_id].append(contact_id)
    prices: dict[str, list[tuple[Any, Decimal]]] = defaultdict(list)
    for price in ProductPrice.objects.filter(product__active=True).select_related("product").order_by("pk"):
        prices[price.currency_id].append((price.product, price.unit_price))

    opportunities: list[Opportunity] = []
    histories: list[list[tuple[PipelineStage, datetime.datetime]]] = []
    lines: list[tuple[int, OpportunityLine]] = []
    for customer in customers:
        chinese = _is_chinese(customer.name)
        won_customer = customer.stage is not None and customer.stage.key in WON_CUSTOMER_STAGES
        for nth in range(rng.choice([0, 1, 1, 2, 2, 3])):
            renewal = won_customer and "renewal" in pipelines and nth > 0 and rng.random() < 0.5
            pipeline = pipelines["renewal" if renewal else "new_business"]
            path = stages[pipeline.pk]
            open_stages = [s for s in path if s.kind == StageKind.OPEN]
            created = now - datetime.timedelta(days=rng.uniform(1, 730), minutes=rng.randint(0, 600))
            age = (now - created).days
            roll = rng.random()
            if age > 45 and won_customer and roll < 0.5:
                outcome = StageKind.WON
            elif age > 30 and roll > 0.7:
                outcome = StageKind.LOST
            else:
                outcome = StageKind.OPEN
            if outcome == StageKind.OPEN:
                reached = rng.randint(0, len(open_stages) - 1)
                target = open_stages[reached]
                walked = open_stages[: reached + 1]
                closed_at = None
                end = now - datetime.timedelta(days=rng.uniform(0, min(age, 20)))
            else:
                target = next(s for s in path if s.kind == outcome)
                walked = open_stages if outcome == StageKind.WON else open_stages[: rng.randint(1, len(open_stages))]
                walked = [*walked, target]
                closed_at = min(now, created + datetime.timedelta(days=rng.uniform(15, 150)))
                end = closed_at
            # moves spread between creation and the last move
            times = [created] + [_at(created, end, share) for share in sorted(rng.uniform(0.05, 1) for _ in walked[1:])]
            currency = "USD" if rng.random() < 0.15 and prices.get("USD") else money.reporting_currency()
            needs_amount = any(stage.requirements for stage in walked) or outcome == StageKind.WON
            priced = needs_amount or rng.random() < 0.85
            made_lines: list[OpportunityLine] = []
            amount = None
            # won deals are priced with lines: the contracts demo copies them into orders
            if priced and prices.get(currency) and (outcome == StageKind.WON or rng.random() < 0.3):
                for position, (product, unit_price) in enumerate(
                    rng.sample(prices[currency], k=min(len(prices[currency]), rng.randint(1, 3))), start=1
                ):
                    quantity = Decimal(rng.choice([1, 1, 2, 3, 5, 10, 20]))
                    discount = Decimal(rng.choice([0, 0, 0, 5, 10, 15]))
                    line = OpportunityLine(
                        position=position,
                        product=product,
                        quantity=quantity,
                        unit_price=unit_price,
                        discount_percent=discount,
                        tax_rate=product.tax_rate,
                    )
                    line.amount = calc.line_amount(quantity, unit_price, discount, currency)
                    line.tax_amount = calc.line_tax(line.amount, product.tax_rate, currency)
                    made_lines.append(line)
                amount = calc.lines_total([line.amount for line in made_lines], currency)
            elif priced:
                scale = 1 if currency == money.reporting_currency() else 7
                amount = money.quantize(Decimal(rng.randint(200, 20000) * 100) / scale, currency)
            if outcome == StageKind.OPEN:
                close_date = today + datetime.timedelta(days=rng.randint(-20, 180))
            else:
                close_date = timezone.localtime(closed_at).date() if closed_at else today
            base = (RENEWAL_ZH if chinese else RENEWAL_EN) if renewal else rng.choice(NAMES_ZH if chinese else NAMES_EN)
            name = f"{customer.name} {base}" if chinese else f"{customer.name}: {base}"
            opp = Opportunity(
                name=name[:200],
                customer=customer,
                contact_id=rng.choice(contacts[customer.pk]) if contacts[customer.pk] and rng.random() < 0.7 else None,
                pipeline=pipeline,
                stage=target,
                amount=amount,
                currency=currency,
                probability=target.probability,
                forecast_category=target.forecast_category,
                expected_close_date=close_date if priced or rng.random() < 0.5 else None,
                source=rng.choice(SOURCES),
                next_step=rng.choice(NEXT_ZH if chinese else NEXT_EN) if outcome == StageKind.OPEN else "",
                status={
                    StageKind.OPEN: OpportunityStatus.OPEN,
                    StageKind.WON: OpportunityStatus.WON,
                    StageKind.LOST: OpportunityStatus.LOST,
                }[outcome],
                closed_at=closed_at,
                lost_reason=rng.choice(LOST_ZH if chinese else LOST_EN) if outcome == StageKind.LOST else "",
                stage_entered_at=times[-1],
                owner_id=customer.owner_id,
                team_id=customer.team_id,
                created_at=created,
                updated_at=times[-1],
                created_by_id=customer.owner_id,
                updated_by_id=customer.owner_id,
                version=len(walked),
            )
            if target.requirements and opp.expected_close_date is None:
                opp.expected_close_date = close_date
            opportunities.append(opp)
            histories.append(list(zip(walked, times, strict=True)))
            lines.extend((len(opportunities) - 1, line) for line in made_lines)

    contexts = {customer.owner_id: Context(user=customer.owner, source=Source.CLI) for customer in customers}
    with transaction.atomic():
        for opp, number in zip(opportunities, next_numbers(OPPORTUNITY.number_prefix, len(opportunities)), strict=True):
            opp.number = number
        Opportunity.objects.bulk_create(opportunities, batch_size=500)
        for index, line in lines:
            line.opportunity = opportunities[index]
        OpportunityLine.objects.bulk_create([line for _index, line in lines], batch_size=500)
        changes: list[OpportunityStageChange] = []
        entries: list[AuditEntry] = []
        for opp, history in zip(opportunities, histories, strict=True):
            ctx = contexts[opp.owner_id]
            entry = audit_log.entry_for(
                ctx,
                AuditAction.CREATE,
                opp,
                changes={name: [None, audit_log.json_value(opp, name)] for name in ("name", "amount", "currency")},
            )
            entry.at = opp.created_at
            entries.append(entry)
            previous: tuple[PipelineStage, datetime.datetime] | None = None
            for stage, at in history:
                changes.append(
                    OpportunityStageChange(
                        opportunity=opp,
                        from_stage=previous[0] if previous else None,
                        to_stage=stage,
                        actor_id=opp.owner_id,
                        at=at,
                        seconds_in_previous=int((at - previous[1]).total_seconds()) if previous else None,
                    )
                )
                if previous is not None:
                    move = audit_log.entry_for(
                        ctx,
                        AuditAction.UPDATE,
                        opp,
                        changes={"stage": [previous[0].name, stage.name]},
                        extra={"reason": opp.lost_reason} if stage.kind == StageKind.LOST else None,
                    )
                    move.at = at
                    entries.append(move)
                previous = (stage, at)
        OpportunityStageChange.objects.bulk_create(changes, batch_size=1000)
        AuditEntry.objects.bulk_create(entries, batch_size=500)
        ids = [opp.pk for opp in opportunities]
        search.index_records(OPPORTUNITY, ids, dependents=False)
        timeline.refresh(OPPORTUNITY.key, ids)
        quotas = _quotas(rng, today)
    return DemoOpportunities(
        opportunities=len(opportunities),
        won=sum(opp.status == OpportunityStatus.WON for opp in opportunities),
        lost=sum(opp.status == OpportunityStatus.LOST for opp in opportunities),
        lines=len(lines),
        quotas=quotas,
    )


def _quotas(rng: random.Random, today: datetime.date) -> int:
    """Monthly quotas of the active sales users: the past twelve months and the next three
    (months that have one already are left as they are)."""
    from kehu.accounts.models import Role, User

    users = list(User.objects.filter(is_active=True, role__key=Role.SALES).order_by("pk"))
    months = [_month(today, offset) for offset in range(-12, 4)]
    have = set(Quota.objects.filter(user__in=users, period_start__in=months).values_list("user_id", "period_start"))
    code = money.reporting_currency()
    made = [
        Quota(user=user, period_start=month, amount=Decimal(rng.randint(30, 80) * 10000), currency=code)
        for user in users
        for month in months
        if (user.pk, month) not in have
    ]
    Quota.objects.bulk_create(made)
    return len(made)
