"""Orders: lines and totals, statuses, an order from a won opportunity, the first order
promoting a lead, the grading metrics, and money that never drifts by a cent (hypothesis)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kehu.customers.grading import metrics_for
from kehu.platform import money
from kehu.platform import services as record_services
from kehu.sales.contracts import receivables, services
from kehu.sales.contracts.metrics import order_metrics
from kehu.sales.contracts.models import Order, OrderLine
from tests.sales.contracts_support import *  # noqa: F403
from tests.sales.contracts_support import START, D, ctx_of

pytestmark = pytest.mark.django_db

LINES = [
    {"description": "Pump", "quantity": "3", "unit_price": "199.99", "discount_percent": "10", "tax_rate": "13"},
    {"description": "Installation", "quantity": "1.5", "unit_price": "333.3333", "tax_rate": "6"},
]


def test_lines_set_amounts_and_totals(rep: Any, customer: Any, make_order: Any) -> None:
    order = make_order(rep, customer, lines=LINES)
    lines = list(order.lines.all())
    # 3 × 199.99 × 0.9 = 539.973 → 539.97; tax 13 % = 70.1961 → 70.20
    assert (lines[0].amount, lines[0].tax_amount) == (D("539.97"), D("70.20"))
    # 1.5 × 333.3333 = 499.99995 → 500.00; tax 6 % = 30.00
    assert (lines[1].amount, lines[1].tax_amount) == (D("500.00"), D("30.00"))
    order.refresh_from_db()
    assert (order.subtotal, order.tax, order.total) == (D("1039.97"), D("100.20"), D("1140.17"))
    assert order.number.startswith("SO-")


def test_bad_lines_name_their_row_and_field(rep: Any, customer: Any, make_order: Any) -> None:
    order = make_order(rep, customer)
    with pytest.raises(ValidationError) as error:
        services.order_set_lines(
            ctx_of(rep),
            order,
            [
                {"description": "x", "quantity": "0", "unit_price": "1"},
                {"quantity": "1", "unit_price": "-1", "discount_percent": "120"},
            ],
        )
    errors = error.value.message_dict
    assert "lines.0.quantity" in errors
    assert {"lines.1.description", "lines.1.unit_price", "lines.1.discount_percent"} <= set(errors)


def test_archived_product_is_not_offered_for_new_lines(rep: Any, customer: Any, make_order: Any, manager: Any) -> None:
    from kehu.sales.products.records import PRODUCT

    product = record_services.record_create(
        PRODUCT,
        ctx=ctx_of(manager),
        data={"code": "HW-1", "name": "Old router", "kind": "product", "tax_rate": D("13.00"), "active": False},
    )
    order = make_order(rep, customer)
    with pytest.raises(ValidationError) as error:
        services.order_set_lines(ctx_of(rep), order, [{"product": product.pk, "unit_price": "10"}])
    assert "is archived" in error.value.message_dict["lines.0.product"][0]


def test_product_line_takes_its_name_and_tax_rate(rep: Any, customer: Any, make_order: Any, manager: Any) -> None:
    from kehu.sales.products.records import PRODUCT

    product = record_services.record_create(
        PRODUCT,
        ctx=ctx_of(manager),
        data={"code": "SW-1", "name": "CRM licence", "kind": "product", "tax_rate": D("13.00")},
    )
    order = make_order(rep, customer, lines=[{"product": product.pk, "quantity": "2", "unit_price": "100"}])
    line = order.lines.get()
    assert (line.description, line.tax_rate, line.tax_amount) == ("CRM licence", D("13.00"), D("26.00"))


def test_only_draft_lines_change(rep: Any, customer: Any, make_order: Any) -> None:
    order = make_order(rep, customer, lines=LINES, confirm=True)
    with pytest.raises(ValidationError) as error:
        services.order_set_lines(ctx_of(rep), order, LINES[:1])
    assert "Only a draft order's lines can change" in error.value.message_dict["lines"][0]


def test_confirming_needs_lines(rep: Any, customer: Any, make_order: Any) -> None:
    order = make_order(rep, customer)
    with pytest.raises(ValidationError) as error:
        services.order_transition(ctx_of(rep), order, "confirmed")
    assert "at least one line" in error.value.message_dict["lines"][0]


def test_order_status_moves_follow_the_table(rep: Any, customer: Any, make_order: Any) -> None:
    order = make_order(rep, customer, lines=LINES, confirm=True)
    services.order_transition(ctx_of(rep), order, "fulfilled")
    with pytest.raises(ValidationError) as error:
        services.order_transition(ctx_of(rep), order, "cancelled")
    assert "cannot move from Fulfilled to Cancelled" in error.value.message_dict["status"][0]


def test_order_of_a_contract_takes_its_customer_and_currency(
    rep: Any, customer: Any, make_contract: Any, make_order: Any
) -> None:
    contract = make_contract(rep, customer, currency="USD", status="active")
    order = services.order_create(ctx_of(rep), {"contract": contract, "customer": customer, "currency": ""})
    assert order.currency == "USD"
    with pytest.raises(ValidationError) as error:
        services.order_create(ctx_of(rep), {"contract": contract, "customer": customer, "currency": "CNY"})
    assert "The contract is in USD" in error.value.message_dict["currency"][0]


def test_first_confirmed_order_promotes_a_lead(rep: Any, make_customer: Any, make_order: Any) -> None:
    lead = make_customer(rep, name="New Lead Co", stage="lead")
    make_order(rep, lead, lines=LINES, confirm=True)
    lead.refresh_from_db()
    assert lead.stage_id == "active"


def test_order_payment_and_balance(rep: Any, customer: Any, make_order: Any, pay: Any) -> None:
    order = make_order(rep, customer, lines=LINES, confirm=True)
    pay(rep, order, "140.17")
    balance = receivables.order_balances([order], today=START + datetime.timedelta(days=5))[order.pk]
    assert (balance.paid, balance.outstanding, balance.overdue) == (D("140.17"), D("1000.00"), D("1000.00"))


def test_order_under_a_contract_is_paid_on_the_contract(
    rep: Any, customer: Any, make_contract: Any, make_order: Any, pay: Any
) -> None:
    contract = make_contract(rep, customer, status="active")
    order = make_order(rep, customer, contract=contract, lines=LINES, confirm=True)
    with pytest.raises(ValidationError) as error:
        pay(rep, order, "1.00")
    assert f"billed by contract {contract}" in error.value.message_dict["order"][0]


def test_draft_order_takes_no_payment(rep: Any, customer: Any, make_order: Any, pay: Any) -> None:
    order = make_order(rep, customer, lines=LINES)
    with pytest.raises(ValidationError) as error:
        pay(rep, order, "1.00")
    assert "Only confirmed or fulfilled orders" in error.value.message_dict["order"][0]


# ---------------------------------------------------------------- from an opportunity


@pytest.fixture
def won_opportunity(rep: Any, customer: Any) -> Any:
    from kehu.sales.opportunities import services as opportunities

    opp = opportunities.opportunity_create(
        ctx_of(rep),
        {"name": "Pumps for plant 2", "customer": customer, "currency": "CNY", "amount": D("1000.00")},
        lines=[{"description": "Pump", "quantity": "2", "unit_price": "500.00", "tax_rate": "13"}],
    )
    return opportunities.opportunity_win(ctx_of(rep), opp)


def test_order_from_a_won_opportunity_copies_its_lines(rep: Any, won_opportunity: Any) -> None:
    order = services.order_from_opportunity(ctx_of(rep), won_opportunity)
    assert order.opportunity == won_opportunity
    assert order.customer == won_opportunity.customer
    line = order.lines.get()
    assert (line.description, line.quantity, line.unit_price, line.amount, line.tax_amount) == (
        "Pump",
        D("2"),
        D("500"),
        D("1000.00"),
        D("130.00"),
    )
    order.refresh_from_db()
    assert order.total == D("1130.00")
    with pytest.raises(ValidationError) as error:
        services.order_from_opportunity(ctx_of(rep), won_opportunity)
    assert "was made from this opportunity already" in error.value.message_dict["opportunity"][0]


def test_open_opportunity_is_not_an_order(rep: Any, customer: Any) -> None:
    from kehu.sales.opportunities import services as opportunities

    opp = opportunities.opportunity_create(ctx_of(rep), {"name": "Maybe", "customer": customer, "currency": "CNY"})
    with pytest.raises(ValidationError) as error:
        services.order_from_opportunity(ctx_of(rep), opp)
    assert "Only a won opportunity" in error.value.message_dict["opportunity"][0]


def test_order_from_opportunity_through_the_api(rep: Any, won_opportunity: Any, api_as: Any) -> None:
    api = api_as(rep)
    response = api.post(f"/orders/from-opportunity/{won_opportunity.pk}/", {})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["total"] == "1130.00"
    assert body["lines"][0]["amount"] == "1000.00"
    again = api.post(f"/orders/from-opportunity/{won_opportunity.pk}/", {})
    assert again.status_code == 422
    assert again["Content-Type"] == "application/problem+json"


# ---------------------------------------------------------------- grading metrics


def test_grading_metrics_for_many_customers_in_two_queries(
    rep: Any, make_customer: Any, make_order: Any, django_assert_num_queries: Any
) -> None:
    today = datetime.date(2026, 6, 1)
    customers = [make_customer(rep, name=f"Buyer {i}") for i in range(4)]
    for index, buyer in enumerate(customers[:3]):
        for month in range(1, index + 2):
            make_order(
                rep,
                buyer,
                lines=[{"description": "x", "unit_price": "100"}],
                confirm=True,
                order_date=datetime.date(2026, month, 1),
            )
    make_order(rep, customers[3], lines=[{"description": "x", "unit_price": "100"}])  # a draft: not a purchase
    with django_assert_num_queries(1):  # the reporting currency needs no rate lookup
        found = order_metrics([c.pk for c in customers], today=today)
    assert customers[3].pk not in found
    assert found[customers[2].pk].amount == D("300.00")
    assert found[customers[2].pk].count == 3
    assert found[customers[2].pk].last_date == datetime.date(2026, 3, 1)
    assert metrics_for([customers[0].pk])[customers[0].pk].count == 1  # registered with customers.grading


# ---------------------------------------------------------------- never a cent of drift

amounts = st.decimals(min_value=D("0.01"), max_value=D("99999999.99"), places=2, allow_nan=False, allow_infinity=False)
quantities = st.decimals(min_value=D("0.0001"), max_value=D("10000"), places=4, allow_nan=False, allow_infinity=False)
prices = st.decimals(min_value=D("0"), max_value=D("100000"), places=4, allow_nan=False, allow_infinity=False)
percents = st.decimals(min_value=D("0"), max_value=D("100"), places=2, allow_nan=False, allow_infinity=False)
line_rows = st.lists(
    st.fixed_dictionaries(
        {"quantity": quantities, "unit_price": prices, "discount_percent": percents, "tax_rate": percents}
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=line_rows)
def test_order_totals_are_exactly_the_sum_of_the_lines(rep: Any, customer: Any, rows: list[dict[str, Decimal]]) -> None:
    order = services.order_create(ctx_of(rep), {"customer": customer, "currency": "CNY"})
    services.order_set_lines(
        ctx_of(rep), order, [{"description": "x", **{k: str(v) for k, v in r.items()}} for r in rows]
    )
    stored = Order.objects.get(pk=order.pk)
    lines = list(OrderLine.objects.filter(order=order))
    assert stored.subtotal == sum((line.amount for line in lines), D(0))
    assert stored.tax == sum((line.tax_amount for line in lines), D(0))
    assert stored.total == stored.subtotal + stored.tax
    for line, row in zip(lines, rows, strict=True):
        exact = row["quantity"] * row["unit_price"] * (100 - row["discount_percent"]) / 100
        assert abs(line.amount - exact) <= D("0.005")  # rounded once, half a cent at most


@settings(max_examples=200, deadline=None)
@given(total=amounts, parts=st.integers(min_value=1, max_value=36), code=st.sampled_from(["CNY", "JPY", "USD"]))
def test_split_plan_adds_up_exactly(total: Decimal, parts: int, code: str) -> None:
    total = money.quantize(total, code)
    rows = services.split_evenly(total, code, parts, datetime.date(2026, 1, 31))
    assert sum((r["amount"] for r in rows), D(0)) == total
    assert max(r["amount"] for r in rows) - min(r["amount"] for r in rows) <= money.quantum(code)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(total=amounts, data=st.data())
def test_outstanding_is_amount_less_payments_exactly(rep: Any, customer: Any, total: Decimal, data: Any) -> None:
    contract = services.contract_create(
        ctx_of(rep), {"customer": customer, "title": "P", "start_date": START, "amount": total, "currency": "CNY"}
    )
    services.contract_transition(ctx_of(rep), contract, "active")
    paid = D(0)
    for weight in data.draw(st.lists(st.integers(min_value=1, max_value=100), max_size=4)):
        part = money.quantize((total - paid) * weight / 100, "CNY")
        if part <= 0:
            continue
        services.payment_create(ctx_of(rep), {"contract": contract, "amount": part, "received_on": START})
        paid += part
    balance = receivables.contract_balances([contract])[contract.pk]
    assert balance.paid == paid
    assert balance.outstanding == total - paid
    assert balance.outstanding + balance.paid == contract.amount


def test_product_on_an_order_line_cannot_be_deleted(rep: Any, customer: Any, make_order: Any, manager: Any) -> None:
    from kehu.sales.products import services as products
    from kehu.sales.products.records import PRODUCT

    product = record_services.record_create(
        PRODUCT, ctx=ctx_of(manager), data={"code": "SW-2", "name": "Add-on", "kind": "product", "tax_rate": D("6.00")}
    )
    make_order(rep, customer, lines=[{"product": product.pk, "unit_price": "100"}])
    with pytest.raises(ValidationError) as error:
        products.product_delete(ctx_of(manager), product)
    assert "Archive it instead" in " ".join(error.value.messages)


def test_a_won_opportunitys_page_offers_to_create_its_order(rep: Any, won_opportunity: Any) -> None:
    from django.test import Client

    client = Client()
    client.force_login(rep)
    page = client.get(f"/opportunities/{won_opportunity.pk}/").content.decode()
    assert 'data-testid="create-order"' in page

    response = client.post(f"/opportunities/{won_opportunity.pk}/order/")

    order = Order.objects.get(opportunity=won_opportunity)
    assert response.status_code == 302
    assert response["Location"] == order.get_absolute_url()
    assert [line.description for line in OrderLine.objects.filter(order=order)] == ["Pump"]
