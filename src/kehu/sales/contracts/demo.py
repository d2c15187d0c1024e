"""Demo contracts, orders and payments (``kehu demo``), consistent with the pipeline's won
opportunities: each won opportunity of the new customers gets a signed contract for its
amount with a payment plan, a confirmed or fulfilled order copying its lines, and payments
(most instalments paid, some late, a few customers overdue by months). When there are no
won opportunities (the pipeline demo did not run), customers at the "active customer"
lifecycle stage get a contract and an order of catalogue products instead.

Written in bulk (numbers reserved in ranges, one ``bulk_create`` per table, audit entries in
batches, then the search index and timelines in a few statements), so ``kehu demo`` stays
fast. Renewal tasks are made for active contracts ending within the notice period."""

from __future__ import annotations

import datetime
import random
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
from kehu.sales.contracts import services
from kehu.sales.contracts.models import (
    Contract,
    ContractStatus,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentInstalment,
    PaymentMethod,
)

TITLES_ZH = ["年度采购合同", "软件许可及服务合同", "设备供货合同", "技术服务合同", "维保服务合同"]
TITLES_EN = [
    "Annual supply agreement",
    "Licence and service agreement",
    "Equipment supply contract",
    "Support contract",
]
METHODS = [PaymentMethod.BANK_TRANSFER] * 5 + [PaymentMethod.ALIPAY, PaymentMethod.WECHAT_PAY, PaymentMethod.CHEQUE]


@dataclass
class DemoContracts:
    contracts: int = 0
    orders: int = 0
    payments: int = 0


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@dataclass
class _Deal:
    customer: Any
    opportunity: Any
    currency: str
    lines: list[dict[str, Any]]
    day: datetime.date


def _deals(customers_after: int, today: datetime.date, rng: random.Random) -> list[_Deal]:
    from kehu.customers.models import Customer
    from kehu.platform.records import registry

    deals: list[_Deal] = []
    opportunity_rt = registry.get("opportunity")
    if opportunity_rt is not None:
        won = (
            opportunity_rt.model.objects.filter(customer_id__gt=customers_after, status="won")
            .select_related("customer")
            .prefetch_related("lines")
            .order_by("pk")
        )
        for opp in won:
            lines = [
                {
                    "product": line.product_id,
                    "description": line.description,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "discount_percent": line.discount_percent,
                    "tax_rate": line.tax_rate,
                }
                for line in opp.lines.all()
            ]
            if not lines and opp.amount:
                lines = [
                    {
                        "description": opp.name[:300],
                        "quantity": Decimal(1),
                        "unit_price": opp.amount,
                        "discount_percent": Decimal(0),
                        "tax_rate": Decimal(0),
                    }
                ]
            if not lines:
                continue
            closed = opp.closed_at.date() if getattr(opp, "closed_at", None) else today - datetime.timedelta(days=60)
            deals.append(_Deal(opp.customer, opp, (opp.currency or money.reporting_currency()).upper(), lines, closed))
    if deals:
        return deals
    from kehu.sales.products.models import Product

    products = list(Product.objects.filter(active=True).order_by("pk")) if Product.objects.exists() else []
    active = Customer.objects.filter(pk__gt=customers_after, stage__is_won=True).order_by("pk")
    for customer in active:
        picked = rng.sample(products, k=min(len(products), rng.randint(1, 3))) if products else []
        lines = [
            {
                "product": product.pk,
                "description": product.name,
                "quantity": Decimal(rng.choice([1, 1, 2, 5, 10])),
                "unit_price": services.quantize(Decimal(rng.randint(500, 40000)), "CNY"),
                "discount_percent": Decimal(rng.choice([0, 0, 5, 10])),
                "tax_rate": product.tax_rate,
            }
            for product in picked
        ] or [
            {
                "description": "服务费" if _is_chinese(customer.name) else "Services",
                "quantity": Decimal(1),
                "unit_price": Decimal(rng.randint(5000, 80000)),
            }
        ]
        deals.append(_Deal(customer, None, "CNY", lines, today - datetime.timedelta(days=rng.randint(20, 400))))
    return deals


def create_demo_contracts(
    *, seed: int = 42, today: datetime.date | None = None, customers_after: int = 0
) -> DemoContracts:
    """Contracts, orders and payments for the deals of the customers whose id is above
    ``customers_after``; the same seed gives the same data."""
    from kehu.activities.models import Task, TaskKind
    from kehu.sales.contracts.records import CONTRACT, ORDER, PAYMENT

    rng = random.Random(seed)  # noqa: S311 -- demo data, not secrets
    today = today or timezone.localdate()
    deals = _deals(customers_after, today, rng)
    if not deals:
        return DemoContracts()
    contracts: list[Contract] = []
    plans: list[list[PaymentInstalment]] = []
    orders: list[Order] = []
    order_lines: list[list[OrderLine]] = []
    payments: list[tuple[str, int, Payment]] = []  # (target kind, index, payment)
    for deal in deals:
        customer, code = deal.customer, deal.currency
        lines: list[OrderLine] = []
        for position, row in enumerate(deal.lines, start=1):
            amount, tax = services.line_amounts(
                Decimal(row["quantity"]),
                Decimal(row["unit_price"]),
                Decimal(row["discount_percent"] or 0),
                Decimal(row["tax_rate"] or 0),
                code,
            )
            lines.append(
                OrderLine(
                    position=position,
                    product_id=row.get("product"),
                    description=str(row["description"] or "")[:300],
                    quantity=row["quantity"],
                    unit_price=row["unit_price"],
                    discount_percent=row["discount_percent"] or 0,
                    tax_rate=row["tax_rate"] or 0,
                    amount=amount,
                    tax_amount=tax,
                )
            )
        subtotal = sum((line.amount for line in lines), Decimal(0))
        tax = sum((line.tax_amount for line in lines), Decimal(0))
        total = subtotal + tax
        signed = deal.day
        start = signed + datetime.timedelta(days=rng.randint(0, 14))
        end = services.add_months(start, 12) - datetime.timedelta(days=1)
        status = ContractStatus.ACTIVE if end >= today else ContractStatus.EXPIRED
        stamp = timezone.make_aware(datetime.datetime.combine(signed, datetime.time(10, 0)))
        common = {
            "customer": customer,
            "owner_id": customer.owner_id,
            "team_id": customer.team_id,
            "created_at": stamp,
            "updated_at": stamp,
            "created_by_id": customer.owner_id,
            "updated_by_id": customer.owner_id,
        }
        chinese = _is_chinese(customer.name)
        contract = Contract(
            opportunity=deal.opportunity,
            title=rng.choice(TITLES_ZH if chinese else TITLES_EN),
            signed_date=signed,
            start_date=start,
            end_date=end,
            amount=total,
            currency=code,
            status=status,
            terms="付款方式：按付款计划银行转账。" if chinese else "Payment by bank transfer according to the plan.",
            **common,
        )
        count = rng.choice([1, 2, 3, 3, 4, 6])
        parts = money.allocate(total, [1] * count, code)
        plan = [
            PaymentInstalment(due_date=services.add_months(start, index), amount=part, note="")
            for index, part in enumerate(parts)
        ]
        contracts.append(contract)
        plans.append(plan)
        order = Order(
            opportunity=deal.opportunity,
            order_date=signed,
            status=OrderStatus.FULFILLED if rng.random() < 0.6 else OrderStatus.CONFIRMED,
            currency=code,
            subtotal=subtotal,
            tax=tax,
            total=total,
            **common,
        )
        orders.append(order)
        order_lines.append(lines)
        # Payments: a good payer pays every instalment due, on time or a little late; a slow
        # one stops paying part way (overdue by months); a few pay nothing yet.
        behaviour = rng.choices(["good", "slow", "none"], weights=[70, 22, 8])[0]
        for instalment in plan:
            if instalment.due_date > today or behaviour == "none":
                break
            if behaviour == "slow" and rng.random() < 0.5:
                break
            received = min(instalment.due_date + datetime.timedelta(days=rng.randint(-5, 20)), today)
            payments.append(
                ("contract", len(contracts) - 1, _payment(customer, instalment.amount, code, received, rng, chinese))
            )

    contexts: dict[int, Context] = {}
    with transaction.atomic():
        for contract, number in zip(contracts, next_numbers(CONTRACT.number_prefix, len(contracts)), strict=True):
            contract.number = number
        Contract.objects.bulk_create(contracts, batch_size=500)
        for contract, plan, order in zip(contracts, plans, orders, strict=True):
            for instalment in plan:
                instalment.contract = contract
            order.contract = contract
        PaymentInstalment.objects.bulk_create([i for plan in plans for i in plan], batch_size=1000)
        for order, number in zip(orders, next_numbers(ORDER.number_prefix, len(orders)), strict=True):
            order.number = number
        Order.objects.bulk_create(orders, batch_size=500)
        for order, lines in zip(orders, order_lines, strict=True):
            for line in lines:
                line.order = order
        OrderLine.objects.bulk_create([line for lines in order_lines for line in lines], batch_size=1000)
        made = [payment for _kind, _index, payment in payments]
        for (_kind, index, payment), number in zip(
            payments, next_numbers(PAYMENT.number_prefix, len(made)), strict=True
        ):
            payment.number = number
            payment.contract = contracts[index]
        Payment.objects.bulk_create(made, batch_size=500)
        tasks = _renewal_tasks(contracts, today, Task, TaskKind)
        entries = []
        audited: list[tuple[Any, tuple[str, ...]]] = [
            *[(c, ("title", "amount", "status")) for c in contracts],
            *[(o, ("total", "status")) for o in orders],
            *[(p, ("amount", "received_on")) for p in made],
            *[(t, ("title", "due_at")) for t in tasks],
        ]
        from kehu.accounts.models import User

        owners = User.objects.in_bulk({obj.owner_id for obj, _names in audited})
        for obj, names in audited:
            if obj.owner_id not in contexts:
                contexts[obj.owner_id] = Context(user=owners[obj.owner_id], source=Source.CLI)
            ctx = contexts[obj.owner_id]
            changes = {name: [None, audit_log.json_value(obj, name)] for name in names}
            entries.append(audit_log.entry_for(ctx, AuditAction.CREATE, obj, changes=changes))
        AuditEntry.objects.bulk_create(entries, batch_size=500)
        for rt, objs in ((CONTRACT, contracts), (ORDER, orders), (PAYMENT, made)):
            search.index_records(rt, [obj.pk for obj in objs], dependents=False)
            timeline.refresh(rt.key, [obj.pk for obj in objs])
        if tasks:
            from kehu.activities.records import TASK

            search.index_records(TASK, [t.pk for t in tasks], dependents=False)
            timeline.refresh(TASK.key, [t.pk for t in tasks])
    return DemoContracts(contracts=len(contracts), orders=len(orders), payments=len(made))


def _payment(
    customer: Any, amount: Decimal, code: str, received: datetime.date, rng: random.Random, chinese: bool
) -> Payment:
    stamp = timezone.make_aware(datetime.datetime.combine(received, datetime.time(15, 0)))
    return Payment(
        customer=customer,
        owner_id=customer.owner_id,
        team_id=customer.team_id,
        received_on=received,
        amount=amount,
        currency=code,
        method=rng.choice(METHODS),
        reference=f"{'回单' if chinese else 'REF'}-{rng.randint(100000, 999999)}",
        invoice_number=f"{rng.randint(10000000, 99999999)}",
        created_at=stamp,
        updated_at=stamp,
        created_by_id=customer.owner_id,
        updated_by_id=customer.owner_id,
    )


def _renewal_tasks(contracts: list[Contract], today: datetime.date, task_model: Any, kind: Any) -> list[Any]:
    """Renewal tasks for the active contracts ending within the notice period (plus a month)."""
    from kehu.activities.records import TASK

    horizon = today + datetime.timedelta(days=services.renewal_notice_days() + 30)
    due = [c for c in contracts if c.status == ContractStatus.ACTIVE and c.end_date and c.end_date <= horizon]
    tasks = [
        task_model(
            title=f"续签 {c}" if _is_chinese(c.customer.name) else f"Renew {c}",
            kind=kind.FOLLOW_UP,
            customer=c.customer,
            owner_id=c.owner_id,
            team_id=c.team_id,
            due_at=services.renewal_due(c.end_date),
            created_by_id=c.owner_id,
            updated_by_id=c.owner_id,
        )
        for c in due
        if c.end_date is not None
    ]
    for task, number in zip(tasks, next_numbers(TASK.number_prefix, len(tasks)), strict=True):
        task.number = number
    task_model.objects.bulk_create(tasks, batch_size=500)
    for contract, task in zip(due, tasks, strict=True):
        contract.renewal_task = task
    Contract.objects.bulk_update(due, ["renewal_task"], batch_size=500)
    return tasks
