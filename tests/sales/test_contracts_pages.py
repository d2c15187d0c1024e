"""Contracts, orders and payments in the web pages, on the customer's timeline, in the
reassignment of customers, and by role."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from kehu.customers import reassign
from kehu.platform.access import can
from kehu.platform.models import TimelineEntry
from kehu.sales.contracts.models import Contract, Order, Payment
from kehu.sales.contracts.records import CONTRACT, ORDER, PAYMENT
from tests.sales.contracts_support import *  # noqa: F403
from tests.sales.contracts_support import START, D, ctx_of

pytestmark = pytest.mark.django_db


def test_contract_form_creates_a_contract(client: Any, rep: Any, customer: Any) -> None:
    client.force_login(rep)
    form = client.get("/contracts/new/").content.decode()
    assert 'name="currency"' in form
    assert '<option value="CNY" selected>' in form
    response = client.post(
        "/contracts/new/",
        {
            "customer": customer.pk,
            "title": "Maintenance 2026",
            "start_date": "2026-01-01",
            "amount": "8800.00",
            "currency": "CNY",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    contract = Contract.objects.get(title="Maintenance 2026")
    assert (contract.amount, contract.owner) == (D("8800.00"), rep)


def test_contract_form_shows_the_date_error(client: Any, rep: Any, customer: Any) -> None:
    client.force_login(rep)
    response = client.post(
        "/contracts/new/",
        {
            "customer": customer.pk,
            "title": "X",
            "start_date": "2026-02-01",
            "end_date": "2026-01-01",
            "amount": "1",
            "currency": "CNY",
        },
    )
    assert response.status_code == 422
    assert "must not be before the start date" in response.content.decode()


def test_payment_form_records_a_payment(client: Any, rep: Any, customer: Any, make_contract: Any) -> None:
    contract = make_contract(rep, customer, status="active")
    client.force_login(rep)
    response = client.post(
        "/payments/new/",
        {"contract": contract.pk, "received_on": "2026-02-01", "amount": "2000.00", "method": "bank_transfer"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Payment.objects.get().customer == customer
    page = client.get(f"/contracts/{contract.pk}/").content.decode()
    assert "10,000.00" in page  # outstanding


def test_order_lines_page_saves_lines(client: Any, rep: Any, customer: Any, make_order: Any) -> None:
    order = make_order(rep, customer)
    client.force_login(rep)
    assert client.get(f"/orders/{order.pk}/lines/").status_code == 200
    response = client.post(
        f"/orders/{order.pk}/lines/",
        {
            "version": order.version,
            "product": ["", "", ""],
            "description": ["Consulting", "", ""],
            "quantity": ["2", "", ""],
            "unit_price": ["1500", "", ""],
            "discount_percent": ["", "", ""],
            "tax_rate": ["6", "", ""],
        },
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.total == D("3180.00")
    bad = client.post(
        f"/orders/{order.pk}/lines/",
        {"version": order.version, "description": ["x"], "quantity": ["-1"], "unit_price": ["5"]},
    )
    assert bad.status_code == 422
    assert "quantity must be more than zero" in bad.content.decode()


def test_order_page_shows_lines_and_totals(client: Any, rep: Any, customer: Any, make_order: Any) -> None:
    order = make_order(
        rep, customer, lines=[{"description": "Kit", "quantity": "3", "unit_price": "10", "tax_rate": "13"}]
    )
    client.force_login(rep)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert 'data-testid="order-total"' in page
    assert "33.90" in page
    assert 'data-testid="to-confirmed"' in page


def test_receivables_page_for_a_phone_has_a_scrolling_table(client: Any, rep: Any) -> None:
    client.force_login(rep)
    page = client.get("/receivables/").content.decode()
    assert 'class="table-responsive"' in page
    assert 'data-testid="nav-receivables"' in page


@pytest.mark.django_db(transaction=True)  # entries follow committed transactions
def test_timeline_shows_contract_order_and_payment(
    rep: Any, customer: Any, make_contract: Any, make_order: Any, pay: Any
) -> None:
    contract = make_contract(rep, customer, status="active", signed_date=datetime.date(2026, 1, 5))
    order = make_order(rep, customer, lines=[{"description": "x", "unit_price": "10"}], confirm=True)
    pay(rep, contract, "500.00")
    entries = {e.kind: e for e in TimelineEntry.objects.filter(subject_id=customer.pk)}
    assert {"contract", "order", "payment"} <= set(entries)
    assert entries["contract"].title == contract.title
    assert entries["contract"].occurred_at.date() == datetime.date(2026, 1, 5)
    assert entries["order"].title == order.number


def test_reassigning_a_customer_moves_its_drafts_only(
    rep: Any, teammate: Any, manager: Any, customer: Any, make_contract: Any, make_order: Any
) -> None:
    draft = make_contract(rep, customer, title="Draft deal")
    signed = make_contract(rep, customer, title="Signed deal", status="active")
    draft_order = make_order(rep, customer)
    booked = make_order(rep, customer, lines=[{"description": "x", "unit_price": "1"}], confirm=True)
    result = reassign.customers_reassign(ctx_of(manager), [customer.pk], teammate)
    assert result.related["contracts"] == 2
    owners = {c.title: c.owner_id for c in Contract.objects.all()}
    assert owners == {"Draft deal": teammate.pk, "Signed deal": rep.pk}
    assert Order.objects.get(pk=draft_order.pk).owner == teammate
    assert Order.objects.get(pk=booked.pk).owner == rep
    assert draft.pk
    assert signed.pk


@pytest.mark.parametrize(
    ("role", "view", "add"),
    [("sales", True, True), ("service", True, False), ("marketing", True, False), ("read_only", True, False)],
)
def test_role_permissions_on_sales_records(make_user: Any, east: Any, role: str, view: bool, add: bool) -> None:
    user = make_user(f"u-{role}", role, "East sales")
    for rt in (CONTRACT, ORDER, PAYMENT):
        assert can(user, rt, "view") is view
        assert can(user, rt, "add") is add


def test_rep_cannot_see_other_teams_payments(
    client: Any, rep: Any, other_rep: Any, customer: Any, make_contract: Any, pay: Any
) -> None:
    contract = make_contract(rep, customer, status="active")
    payment = pay(rep, contract, "1.00", START)
    client.force_login(other_rep)
    assert client.get(f"/payments/{payment.pk}/").status_code == 404
    assert client.get(f"/contracts/{contract.pk}/").status_code == 404


def test_lists_render_and_filter_by_status(
    client: Any, rep: Any, customer: Any, make_contract: Any, make_order: Any
) -> None:
    make_contract(rep, customer, title="Running deal", status="active")
    make_contract(rep, customer, title="Paper deal")
    make_order(rep, customer)
    client.force_login(rep)
    page = client.get("/contracts/", {"status": "active"}).content.decode()
    assert "Running deal" in page
    assert "Paper deal" not in page
    assert client.get("/orders/").status_code == 200
    assert client.get("/payments/").status_code == 200


def test_reader_sees_the_contract_page_without_actions(
    client: Any, rep: Any, reader: Any, customer: Any, make_contract: Any
) -> None:
    contract = make_contract(rep, customer, status="active", plan=[("2026-01-10", "12000.00")])
    client.force_login(reader)
    page = client.get(f"/contracts/{contract.pk}/").content.decode()
    assert 'data-testid="contract-outstanding"' in page
    assert 'data-testid="to-completed"' not in page
    assert 'data-testid="plan-form"' not in page
    assert client.post(f"/contracts/{contract.pk}/transition/", {"status": "completed"}).status_code == 403
