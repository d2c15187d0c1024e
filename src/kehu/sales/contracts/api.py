"""Contract, order and receivables endpoints beyond the spine's /contracts/, /orders/ and
/payments/: status moves, the payment plan, order lines, an order from a won opportunity,
receivables and credit. Amounts are strings (exact decimals), never JSON numbers.

No ``from __future__ import annotations`` here: django-ninja reads the endpoint annotations."""

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from kehu.platform.access import require
from kehu.platform.api import api_context, json_response, schemas_for
from kehu.sales.contracts import credit, selectors, services
from kehu.sales.contracts.models import ContractStatus, OrderStatus
from kehu.sales.contracts.receivables import BUCKETS
from kehu.sales.contracts.records import CONTRACT, ORDER

router = Router(tags=["contracts"])
order_router = Router(tags=["orders"])
receivables_router = Router(tags=["receivables"])

_contract = schemas_for(CONTRACT)
_order = schemas_for(ORDER)


class TransitionIn(Schema):
    status: str = Field(..., description=f"One of {', '.join(ContractStatus.values)}.")
    reason: str = Field("", max_length=500, description="Required to terminate.")
    version: int | None = Field(None, description="The version you read; a stale one answers 409.")


class InstalmentIn(Schema):
    due_date: datetime.date
    amount: str = Field(..., description='An exact decimal as a string, e.g. "1000.00".')
    note: str = Field("", max_length=200)


class PlanIn(Schema):
    instalments: list[InstalmentIn] | None = Field(
        None, description="The whole plan; the amounts must add up to the contract amount exactly."
    )
    split: int | None = Field(None, ge=1, le=240, description="Instead of instalments: N equal monthly instalments.")
    first_due: datetime.date | None = Field(None, description="With split: the first due date (default: start date).")
    version: int | None = None


class LineIn(Schema):
    product: int | None = None
    description: str = ""
    quantity: str = Field("1", description="Exact decimal string.")
    unit_price: str = Field(..., description="Exact decimal string.")
    discount_percent: str = "0"
    tax_rate: str | None = Field(None, description="Percent; default: the product's tax rate, else 0.")


class LinesIn(Schema):
    lines: list[LineIn]
    version: int | None = None


class OrderTransitionIn(Schema):
    status: str = Field(..., description=f"One of {', '.join(OrderStatus.values)}.")
    version: int | None = None


class CreditIn(Schema):
    credit_limit: str | None = Field(..., description="In the reporting currency; null: no limit.")
    credit_rating: str | None = None


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _balance(balance: Any) -> dict[str, Any]:
    return {
        "paid": str(balance.paid),
        "outstanding": str(balance.outstanding),
        "overdue": str(balance.overdue),
        "currency": balance.currency,
    }


def _contract_body(contract: Any) -> dict[str, Any]:
    from kehu.sales.contracts.receivables import contract_balances

    body = _contract.dump(contract)
    body["plan"] = [
        {"due_date": item.due_date.isoformat(), "amount": str(item.amount), "note": item.note}
        for item in contract.plan.all()
    ]
    body["balance"] = _balance(contract_balances([contract])[contract.pk])
    body["warnings"] = credit.warnings_for(contract)
    return body


def _order_body(order: Any) -> dict[str, Any]:
    body = _order.dump(order)
    body["lines"] = [
        {
            "product": line.product_id,
            "description": line.description,
            "quantity": str(line.quantity),
            "unit_price": str(line.unit_price),
            "discount_percent": str(line.discount_percent),
            "tax_rate": str(line.tax_rate),
            "amount": str(line.amount),
            "tax_amount": str(line.tax_amount),
        }
        for line in order.lines.all()
    ]
    body["warnings"] = credit.warnings_for(order)
    return body


@router.get("/contracts/{int:pk}/balance/", summary="A contract's plan, paid, outstanding and overdue")
def contract_balance(request: HttpRequest, pk: int) -> Any:
    ctx = api_context(request)
    require(ctx, CONTRACT, "view")
    return json_response(200, _contract_body(services.contract_get(ctx, pk)))


@router.post(
    "/contracts/{int:pk}/transition/",
    summary="Move a contract to another status",
    description=(
        "Allowed moves: draft → under_approval, active, terminated; under_approval → draft, active, terminated; "
        "active → completed, terminated, expired; expired → active. Terminating needs a `reason`. "
        "Answers the contract with its plan, balance and `warnings` (credit limit)."
    ),
    operation_id="contract_transition",
)
def transition_contract(request: HttpRequest, pk: int, payload: TransitionIn) -> Any:
    ctx = api_context(request)
    require(ctx, CONTRACT, "change")
    contract = services.contract_get(ctx, pk)
    services.contract_transition(ctx, contract, payload.status, payload.reason, version=payload.version)
    return json_response(200, _contract_body(contract))


@router.put(
    "/contracts/{int:pk}/plan/",
    summary="Set a contract's payment plan",
    description=(
        "Either `instalments` (the whole plan; their amounts must add up to the contract amount exactly, "
        "else 422 naming both figures; an empty list clears it) or `split`: N equal monthly instalments "
        "from `first_due`, the leftover cents on the first ones."
    ),
    operation_id="contract_plan",
)
def set_plan(request: HttpRequest, pk: int, payload: PlanIn) -> Any:
    ctx = api_context(request)
    require(ctx, CONTRACT, "change")
    contract = services.contract_get(ctx, pk)
    if payload.split is not None:
        services.contract_split_plan(ctx, contract, payload.split, payload.first_due, version=payload.version)
    elif payload.instalments is not None:
        rows = [item.model_dump() for item in payload.instalments]
        services.contract_set_plan(ctx, contract, rows, version=payload.version)
    else:
        raise ValidationError({"instalments": _("Give the instalments or a number of equal instalments (split).")})
    return json_response(200, _contract_body(contract))


@order_router.get("/orders/{int:pk}/lines/", summary="An order's lines and totals")
def get_lines(request: HttpRequest, pk: int) -> Any:
    ctx = api_context(request)
    require(ctx, ORDER, "view")
    return json_response(200, _order_body(services.order_get(ctx, pk)))


@order_router.put(
    "/orders/{int:pk}/lines/",
    summary="Replace a draft order's lines",
    description=(
        "Each line's amount = quantity × unit price × (1 − discount/100) rounded half up to the currency; "
        "tax = amount × tax rate/100 rounded the same way; subtotal, tax and total are their exact sums. "
        "Only a draft order's lines change. Answers the order with `lines` and `warnings`."
    ),
    operation_id="order_lines",
)
def put_lines(request: HttpRequest, pk: int, payload: LinesIn) -> Any:
    ctx = api_context(request)
    require(ctx, ORDER, "change")
    order = services.order_get(ctx, pk)
    rows = [{k: v for k, v in line.model_dump().items() if v is not None} for line in payload.lines]
    services.order_set_lines(ctx, order, rows, version=payload.version)
    return json_response(200, _order_body(order))


@order_router.post(
    "/orders/{int:pk}/transition/",
    summary="Move an order to another status",
    description="draft → confirmed, cancelled; confirmed → fulfilled, cancelled, draft; cancelled → draft.",
    operation_id="order_transition",
)
def transition_order(request: HttpRequest, pk: int, payload: OrderTransitionIn) -> Any:
    ctx = api_context(request)
    require(ctx, ORDER, "change")
    order = services.order_get(ctx, pk)
    services.order_transition(ctx, order, payload.status, version=payload.version)
    return json_response(200, _order_body(order))


@order_router.post(
    "/orders/from-opportunity/{int:pk}/",
    response={201: Any},
    summary="Create a draft order from a won opportunity",
    description="Copies the opportunity's customer, currency and lines. One order per opportunity (else 422).",
    operation_id="order_from_opportunity",
)
def from_opportunity(request: HttpRequest, pk: int) -> Any:
    ctx = api_context(request)
    require(ctx, ORDER, "add")
    opportunity = selectors.opportunity_get(ctx.user, pk)
    return json_response(201, _order_body(services.order_from_opportunity(ctx, opportunity)))


def _receivable(customer: Any, figures: Any) -> dict[str, Any]:
    return {
        "customer": customer.pk,
        "customer_name": customer.name,
        "currency": figures.currency,
        "outstanding": str(figures.outstanding),
        "overdue": str(figures.overdue),
        "current": str(figures.current),
        "buckets": {name: str(figures.buckets[name]) for name in BUCKETS},
        "credit_limit": _money(customer.credit_limit),
        "credit_rating": customer.credit_rating,
        "missing_rates": figures.missing_rates,
    }


@receivables_router.get(
    "/receivables/",
    summary="Receivables per customer",
    description=(
        "Outstanding and overdue per customer in the reporting currency with ageing buckets by days past the "
        "due date (0-30, 31-60, 61-90, 90+). `customer`: one customer (with its payment history); else every "
        "customer you can see that owes money (`owner`, `team` filter by the customer's owner and team)."
    ),
    operation_id="receivables",
)
def receivables_list(
    request: HttpRequest, customer: int | None = None, owner: int | None = None, team: int | None = None
) -> Any:
    ctx = api_context(request)
    require(ctx, CONTRACT, "view")
    if customer is not None:
        found = selectors.customer_get(ctx.user, customer)
        summary = selectors.customer_summary(ctx.user, found)
        item = _receivable(found, summary.figures)
        item["payments"] = [
            {
                "id": p.pk,
                "number": p.number,
                "received_on": p.received_on.isoformat(),
                "amount": str(p.amount),
                "currency": p.currency,
                "method": p.method,
                "contract": p.contract_id,
                "order": p.order_id,
            }
            for p in summary.payments
        ]
        return json_response(200, {"items": [item], "count": 1})
    report = selectors.receivables_report(ctx.user, owner=owner, team=team)
    return json_response(
        200,
        {
            "items": [_receivable(row.customer, row.figures) for row in report.rows],
            "count": len(report.rows),
            "totals": {
                "currency": report.currency,
                "outstanding": str(report.outstanding),
                "overdue": str(report.overdue),
                "buckets": {name: str(report.buckets[name]) for name in BUCKETS},
            },
        },
    )


@receivables_router.put(
    "/customers/{int:pk}/credit/",
    summary="Set a customer's credit limit and rating",
    description="Managers and admins only. The limit is in the reporting currency (a string; null: no limit).",
    operation_id="customer_credit",
)
def set_credit(request: HttpRequest, pk: int, payload: CreditIn) -> Any:
    ctx = api_context(request)
    customer = selectors.customer_get(ctx.user, pk)  # NotVisible: 404
    limit = None
    if payload.credit_limit not in (None, ""):
        try:
            limit = Decimal(str(payload.credit_limit))
        except ArithmeticError:
            limit = Decimal("NaN")
        if not limit.is_finite():
            raise ValidationError({"credit_limit": _("Enter a number.")})
    services.credit_set(ctx, customer, limit=limit, rating=payload.credit_rating)  # managers only: else 403
    figures = selectors.customer_summary(ctx.user, customer).figures
    return json_response(200, _receivable(customer, figures))
