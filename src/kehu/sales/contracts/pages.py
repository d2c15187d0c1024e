"""What the contract and order pages show besides the spine's detail tabs."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from kehu.platform.access import can, visible_to
from kehu.sales.contracts import credit, receivables
from kehu.sales.contracts.models import (
    CONTRACT_TRANSITIONS,
    ORDER_TRANSITIONS,
    Contract,
    ContractStatus,
    Order,
    OrderStatus,
    Payment,
)


def contract_page_context(request: HttpRequest, contract: Contract) -> dict[str, Any]:
    from kehu.sales.contracts.forms import PlanSplitForm
    from kehu.sales.contracts.records import CONTRACT, ORDER, PAYMENT

    balance = receivables.contract_balances([contract])[contract.pk]
    plan = list(contract.plan.all())
    dues = sorted(balance.dues, key=lambda due: due.due_date) if plan else []
    rows = [
        {"instalment": item, "unpaid": due.unpaid, "overdue": due.unpaid and due.due_date < balance.today}
        for item, due in zip(plan, dues, strict=False)
    ]
    can_change = can(request.user, CONTRACT, "change") and not contract.is_deleted
    return {
        "balance": balance,
        "plan_rows": rows,
        "payments": list(
            visible_to(request.user, Payment.objects.filter(contract=contract), PAYMENT).order_by("-received_on", "-id")
        ),
        "contract_orders": list(
            visible_to(request.user, Order.objects.filter(contract=contract), ORDER).order_by("-order_date", "-id")
        ),
        "attachments": list(contract.attachments.select_related("uploaded_by")),
        "transitions": [(s, ContractStatus(s).label) for s in CONTRACT_TRANSITIONS[contract.status]],
        "can_change": can_change,
        "can_pay": can(request.user, PAYMENT, "add")
        and contract.status
        not in (
            ContractStatus.DRAFT,
            ContractStatus.UNDER_APPROVAL,
        ),
        "credit_warning": credit.check_record(contract),
        "split_form": PlanSplitForm(initial={"first_due": contract.start_date, "version": contract.version}),
    }


def order_page_context(request: HttpRequest, order: Order) -> dict[str, Any]:
    from kehu.sales.contracts.records import ORDER, PAYMENT

    balance = receivables.order_balances([order])[order.pk]
    return {
        "balance": balance,
        "lines": list(order.lines.select_related("product")),
        "payments": list(
            visible_to(request.user, Payment.objects.filter(order=order), PAYMENT).order_by("-received_on", "-id")
        ),
        "transitions": [(s, OrderStatus(s).label) for s in ORDER_TRANSITIONS[order.status]],
        "can_change": can(request.user, ORDER, "change") and not order.is_deleted,
        "can_pay": can(request.user, PAYMENT, "add")
        and order.contract_id is None
        and order.status in (OrderStatus.CONFIRMED, OrderStatus.FULFILLED),
        "can_edit_lines": can(request.user, ORDER, "change") and order.status == OrderStatus.DRAFT,
        "credit_warning": credit.check_record(order),
    }
