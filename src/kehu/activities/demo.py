"""Demo interactions and tasks (``kehu demo``): a few interactions per customer over the past
twelve months with realistic Chinese or English subjects, their follow-ups (mostly done), and
open tasks for every owner — some overdue, some due today, some upcoming — including
recurring revisits. Written in bulk (numbers reserved in ranges, one ``bulk_create`` per
table, audit entries in batches, then the search index and the timelines in a few
statements), so ``kehu demo`` stays fast."""

from __future__ import annotations

import datetime
import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from kehu.activities.models import Interaction, InteractionKind, Task, TaskKind, TaskPriority, TaskStatus
from kehu.platform import audit as audit_log
from kehu.platform import search, timeline
from kehu.platform.context import Context, Source
from kehu.platform.models import AuditAction, AuditEntry
from kehu.platform.numbering import next_numbers

# kind, Chinese subject, English subject, Chinese outcome, English outcome, next step (zh, en)
SCRIPTS: list[tuple[str, str, str, str, str, str, str]] = [
    (
        InteractionKind.CALL,
        "电话沟通报价",
        "Call about the quote",
        "客户认为价格偏高",
        "Price felt high",
        "发送优惠方案",
        "Send a revised offer",
    ),
    (
        InteractionKind.CALL,
        "售后回访",
        "After-sales check-in call",
        "使用情况良好",
        "All running well",
        "",
        "",
    ),
    (
        InteractionKind.EMAIL,
        "发送产品资料和报价单",
        "Sent brochure and price list",
        "已收到",
        "Received",
        "一周后跟进",
        "Follow up in a week",
    ),
    (
        InteractionKind.MEETING,
        "季度业务回顾会议",
        "Quarterly business review",
        "确认下季度采购计划",
        "Next quarter's orders confirmed",
        "准备合同草案",
        "Draft the contract",
    ),
    (
        InteractionKind.VISIT,
        "上门拜访，参观工厂",
        "On-site visit and plant tour",
        "见到采购负责人",
        "Met the head of purchasing",
        "安排技术交流",
        "Arrange a technical session",
    ),
    (
        InteractionKind.MESSAGE,
        "微信确认交货时间",
        "WeChat: delivery date confirmed",
        "下周三送货",
        "Delivery next Wednesday",
        "",
        "",
    ),
    (
        InteractionKind.NOTE,
        "客户需求备注",
        "Notes on requirements",
        "需要定制包装",
        "Needs custom packaging",
        "",
        "",
    ),
    (
        InteractionKind.CALL,
        "催收尾款",
        "Call about the outstanding payment",
        "承诺月底付款",
        "Promised to pay by month end",
        "月底核对到账",
        "Check the payment at month end",
    ),
    (
        InteractionKind.MEETING,
        "线上产品演示",
        "Online product demo",
        "对新功能感兴趣",
        "Interested in the new features",
        "发送试用账号",
        "Send a trial account",
    ),
]

OPEN_TASKS_ZH = ["回访客户", "发送合同", "确认订单细节", "准备报价", "安排演示", "跟进付款"]
OPEN_TASKS_EN = ["Call back", "Send the contract", "Confirm order details", "Prepare the quote", "Book a demo"]
REVISIT_ZH, REVISIT_EN = "定期回访", "Regular revisit"


@dataclass
class DemoActivities:
    interactions: int = 0
    tasks: int = 0


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _local_end_of_day(now: datetime.datetime) -> datetime.datetime:
    local = timezone.localtime(now)
    return (local + datetime.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def create_demo_activities(
    *, seed: int = 42, now: datetime.datetime | None = None, customers_after: int = 0
) -> DemoActivities:
    """Interactions and tasks for the customers whose id is above ``customers_after`` (the
    ones just made); the same seed gives the same data."""
    from kehu.activities.records import INTERACTION, TASK
    from kehu.customers.models import Contact, Customer

    rng = random.Random(seed)  # noqa: S311 -- demo data, not secrets
    now = now or timezone.now()
    customers = list(Customer.objects.filter(pk__gt=customers_after).select_related("owner").order_by("pk"))
    contacts: dict[int, list[int]] = defaultdict(list)
    rows = Contact.objects.filter(customer_id__gt=customers_after).values_list("pk", "customer_id").order_by("pk")
    for contact_id, customer_id in rows:
        contacts[customer_id].append(contact_id)

    interactions: list[Interaction] = []
    links: list[tuple[int, int]] = []  # (interaction index, contact id)
    follow_up_of: list[tuple[int, str]] = []  # (interaction index, title)
    for customer in customers:
        chinese = _is_chinese(customer.name)
        for _ in range(rng.randint(2, 5)):
            kind, zh, en, out_zh, out_en, next_zh, next_en = rng.choice(SCRIPTS)
            occurred = now - datetime.timedelta(days=rng.uniform(0.5, 365), minutes=rng.randint(0, 600))
            next_step = next_zh if chinese else next_en
            interactions.append(
                Interaction(
                    customer=customer,
                    owner_id=customer.owner_id,
                    team_id=customer.team_id,
                    kind=kind,
                    direction=rng.choice(["outbound", "outbound", "inbound", ""]) if kind != "note" else "",
                    occurred_at=occurred,
                    duration_minutes=rng.choice([5, 10, 15, 30, 45, 60, 90]) if kind != "note" else None,
                    subject=zh if chinese else en,
                    content=(out_zh if chinese else out_en) + ("。" if chinese else "."),
                    outcome=out_zh if chinese else out_en,
                    next_step=next_step,
                    created_at=occurred,
                    updated_at=occurred,
                    created_by_id=customer.owner_id,
                    updated_by_id=customer.owner_id,
                )
            )
            index = len(interactions) - 1
            if contacts[customer.pk]:
                links.append((index, rng.choice(contacts[customer.pk])))
            if next_step:
                follow_up_of.append((index, next_step))

    tasks: list[Task] = []
    for index, title in follow_up_of:  # follow-ups of past interactions: done, or still open
        interaction = interactions[index]
        due = interaction.occurred_at + datetime.timedelta(days=rng.randint(2, 10))
        done = due < now - datetime.timedelta(days=3) or rng.random() < 0.3
        tasks.append(
            _task(
                interaction.customer,
                title,
                due,
                now,
                rng,
                interaction=index,
                done=done,
                created=interaction.occurred_at,
            )
        )
    end_of_today = _local_end_of_day(now)
    by_owner: dict[int, list[Any]] = defaultdict(list)
    for customer in customers:
        by_owner[customer.owner_id].append(customer)
    for owned in by_owner.values():  # every owner's day: a few overdue, today and upcoming
        for bucket, count in (("overdue", 3), ("today", 3), ("upcoming", 6)):
            for _ in range(count):
                customer = rng.choice(owned)
                if bucket == "overdue":
                    due = now - datetime.timedelta(hours=rng.uniform(2, 24 * 6))
                elif bucket == "today":
                    due = now + (end_of_today - now) * rng.uniform(0.2, 0.9)
                else:
                    due = end_of_today + datetime.timedelta(days=rng.uniform(0, 6.5))
                title = rng.choice(OPEN_TASKS_ZH if _is_chinese(customer.name) else OPEN_TASKS_EN)
                tasks.append(_task(customer, title, due, now, rng, created=now - datetime.timedelta(days=3)))
        for customer in rng.sample(owned, k=max(1, len(owned) // 10)):  # recurring revisits
            due = now + datetime.timedelta(days=rng.uniform(1, 80))
            title = REVISIT_ZH if _is_chinese(customer.name) else REVISIT_EN
            task = _task(customer, title, due, now, rng, created=now - datetime.timedelta(days=10))
            task.kind, task.repeat_every_days, task.priority = TaskKind.REVISIT, 90, TaskPriority.NORMAL
            tasks.append(task)

    contexts = {customer.owner_id: Context(user=customer.owner, source=Source.CLI) for customer in customers}
    with transaction.atomic():
        for obj, number in zip(interactions, next_numbers(INTERACTION.number_prefix, len(interactions)), strict=True):
            obj.number = number
        Interaction.objects.bulk_create(interactions, batch_size=500)
        through = Interaction.contacts.through
        through.objects.bulk_create(
            [through(interaction_id=interactions[index].pk, contact_id=contact_id) for index, contact_id in links],
            batch_size=1000,
        )
        for task, number in zip(tasks, next_numbers(TASK.number_prefix, len(tasks)), strict=True):
            task.number = number
            follows = getattr(task, "_demo_interaction", None)
            if follows is not None:
                task.interaction_id = interactions[follows].pk
        Task.objects.bulk_create(tasks, batch_size=500)
        AuditEntry.objects.bulk_create(
            [
                audit_log.entry_for(
                    contexts[obj.owner_id], AuditAction.CREATE, obj, changes=_created(obj, "subject", "kind")
                )
                for obj in interactions
            ]
            + [
                audit_log.entry_for(
                    contexts[task.owner_id], AuditAction.CREATE, task, changes=_created(task, "title", "due_at")
                )
                for task in tasks
            ],
            batch_size=500,
        )
        search.index_records(INTERACTION, [obj.pk for obj in interactions], dependents=False)
        search.index_records(TASK, [obj.pk for obj in tasks], dependents=False)
        timeline.refresh(INTERACTION.key, [obj.pk for obj in interactions])
        timeline.refresh(TASK.key, [obj.pk for obj in tasks])
    return DemoActivities(interactions=len(interactions), tasks=len(tasks))


def _created(obj: Any, *names: str) -> dict[str, list[Any]]:
    return {name: [None, audit_log.json_value(obj, name)] for name in names}


def _task(
    customer: Any,
    title: str,
    due: datetime.datetime,
    now: datetime.datetime,
    rng: random.Random,
    *,
    interaction: int | None = None,
    done: bool = False,
    created: datetime.datetime,
) -> Task:
    completed = min(due + datetime.timedelta(hours=rng.uniform(-24, 48)), now) if done else None
    remind = due - datetime.timedelta(hours=1) if not done and rng.random() < 0.5 else None
    task = Task(
        title=title,
        kind=TaskKind.FOLLOW_UP,
        customer=customer,
        owner_id=customer.owner_id,
        team_id=customer.team_id,
        due_at=due,
        remind_at=remind,
        reminded_at=now if remind is not None and remind < now else None,  # past reminders went out
        priority=rng.choice([TaskPriority.NORMAL] * 4 + [TaskPriority.HIGH, TaskPriority.URGENT, TaskPriority.LOW]),
        status=TaskStatus.DONE if done else TaskStatus.OPEN,
        completed_at=completed,
        created_at=min(created, now),
        updated_at=completed or min(created, now),
        created_by_id=customer.owner_id,
        updated_by_id=customer.owner_id,
    )
    task._demo_interaction = interaction  # type: ignore[attr-defined]
    return task
