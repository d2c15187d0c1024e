"""Receivables and credit: ageing for a fixture against hand-computed buckets, bulk queries,
the credit-limit warning on pages and in the API, the receivables page and API, and the
contract / order endpoints (problem+json, permissions, visibility)."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kehu.platform.models import ExchangeRate
from kehu.sales.contracts import credit, receivables, selectors, services
from tests.api.support import API, assert_problem, error_fields
from tests.sales.contracts_support import *  # noqa: F403
from tests.sales.contracts_support import D, ctx_of

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 30)


def put(api: Any, path: str, data: Any) -> Any:
    return api.client.put(API + path, json.dumps(data), content_type="application/json", **api._headers({}))


@pytest.fixture
def ledger(rep: Any, make_customer: Any, make_contract: Any, make_order: Any, pay: Any) -> dict[str, Any]:
    """Customer A owes on a contract (plan partly paid), an order and a USD order; customer B
    on a contract due today. Hand-computed on 30 June 2026:

    contract 10,000 CNY: instalments 1 Mar 3,000 · 1 May 3,000 · 15 Jun 2,000 · 31 Jul 2,000;
      4,000 paid → unpaid 0 · 2,000 (60 days: 31-60) · 2,000 (15 days: 0-30) · 2,000 (not due)
    order 1 Apr: 1,130.00 (1,000 + 13 % tax), 130 paid → 1,000 unpaid, 90 days: 61-90
    order 1 Feb: 100.00 USD at 7.1 → 710.00 CNY unpaid, 149 days: 90+
    draft order: not owed.
    B: contract 5,000 without a plan starting today: outstanding, not overdue."""
    ExchangeRate.objects.create(currency_id="USD", rate_date=datetime.date(2026, 1, 1), rate=D("7.1"))
    a = make_customer(rep, name="Alpha Machinery")
    b = make_customer(rep, name="Beta Foods")
    contract = make_contract(
        rep,
        a,
        amount=D("10000.00"),
        start_date=datetime.date(2026, 2, 1),
        plan=[
            ("2026-03-01", "3000.00"),
            ("2026-05-01", "3000.00"),
            ("2026-06-15", "2000.00"),
            ("2026-07-31", "2000.00"),
        ],
        status="active",
    )
    pay(rep, contract, "4000.00", datetime.date(2026, 3, 2))
    order = make_order(
        rep,
        a,
        order_date=datetime.date(2026, 4, 1),
        lines=[{"description": "Spare parts", "unit_price": "1000", "tax_rate": "13"}],
        confirm=True,
    )
    pay(rep, order, "130.00", datetime.date(2026, 4, 5))
    make_order(
        rep,
        a,
        currency="USD",
        order_date=datetime.date(2026, 2, 1),
        lines=[{"description": "Manual", "unit_price": "100"}],
        confirm=True,
    )
    make_order(rep, a, lines=[{"description": "Quote only", "unit_price": "99999"}])
    make_contract(rep, b, amount=D("5000.00"), start_date=TODAY, status="active")
    return {"a": a, "b": b, "contract": contract}


def test_ageing_matches_the_hand_computed_buckets(ledger: dict[str, Any]) -> None:
    a, b = ledger["a"], ledger["b"]
    found = receivables.receivables_for([a.pk, b.pk], today=TODAY)
    alpha = found[a.pk]
    assert alpha.currency == "CNY"
    assert alpha.outstanding == D("7710.00")
    assert alpha.overdue == D("5710.00")
    assert alpha.buckets == {"0-30": D("2000.00"), "31-60": D("2000.00"), "61-90": D("1000.00"), "90+": D("710.00")}
    assert alpha.current == D("2000.00")
    beta = found[b.pk]
    assert (beta.outstanding, beta.overdue) == (D("5000.00"), D("0.00"))


def test_bucket_edges_by_days_past_due() -> None:
    assert [receivables.bucket_for(days) for days in (0, 1, 30, 31, 60, 61, 90, 91)] == [
        None,
        "0-30",
        "0-30",
        "31-60",
        "31-60",
        "61-90",
        "61-90",
        "90+",
    ]


def test_missing_rate_is_named_not_guessed(rep: Any, make_customer: Any, make_order: Any) -> None:
    gamma = make_customer(rep, name="Gamma")
    order = make_order(rep, gamma, currency="EUR", lines=[{"description": "x", "unit_price": "10"}], confirm=True)
    found = receivables.receivables_for([gamma.pk], today=TODAY)[gamma.pk]
    assert found.outstanding == D("0")
    assert found.missing_rates == [order.number]


def test_receivables_take_the_same_queries_for_more_customers(
    rep: Any, make_customer: Any, make_contract: Any, make_order: Any
) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            selectors.receivables_report(rep, today=TODAY)
        return len(queries)

    for i in range(2):
        customer = make_customer(rep, name=f"Few {i}")
        make_contract(rep, customer, status="active", plan=[("2026-03-01", "12000.00")])
        make_order(rep, customer, lines=[{"description": "x", "unit_price": "5"}], confirm=True)
    few = count()
    for i in range(6):
        customer = make_customer(rep, name=f"Many {i}")
        make_contract(rep, customer, status="active", plan=[("2026-03-01", "6000.00"), ("2026-04-01", "6000.00")])
        make_order(rep, customer, lines=[{"description": "x", "unit_price": "5"}], confirm=True)
    assert count() == few


def test_report_totals_and_visibility(
    ledger: dict[str, Any], other_rep: Any, make_customer: Any, make_contract: Any
) -> None:
    theirs = make_customer(other_rep, name="Southern Star")
    make_contract(other_rep, theirs, status="active")
    report = selectors.receivables_report(ledger["a"].owner, today=TODAY)
    assert [row.customer.name for row in report.rows] == ["Alpha Machinery", "Beta Foods"]
    assert report.outstanding == D("12710.00")
    assert report.overdue == D("5710.00")
    assert report.buckets["90+"] == D("710.00")
    south = selectors.receivables_report(other_rep, today=TODAY)
    assert [row.customer.name for row in south.rows] == ["Southern Star"]


def test_receivables_page_filters_by_owner(client: Any, ledger: dict[str, Any], manager: Any, other_rep: Any) -> None:
    client.force_login(manager)
    page = client.get("/receivables/").content.decode()
    assert "Alpha Machinery" in page
    assert 'data-testid="receivables-table"' in page
    filtered = client.get("/receivables/", {"owner": other_rep.pk}).content.decode()
    assert "Alpha Machinery" not in filtered


def test_customer_panel_shows_receivables_and_credit(client: Any, ledger: dict[str, Any], rep: Any) -> None:
    client.force_login(rep)
    panel = client.get(f"/customers/{ledger['a'].pk}/receivables/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="customer-receivables"' in panel
    assert 'data-figure="outstanding"' in panel
    assert 'data-testid="credit-form"' not in panel  # a salesperson cannot set the limit


# ---------------------------------------------------------------- credit


def test_only_managers_set_the_credit_limit(rep: Any, manager: Any, customer: Any) -> None:
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.credit_set(ctx_of(rep), customer, limit=D("1000.00"))
    services.credit_set(ctx_of(manager), customer, limit=D("1000.00"), rating="AA")
    customer.refresh_from_db()
    assert (customer.credit_limit, customer.credit_rating) == (D("1000.00"), "AA")


def test_credit_check_warns_only_over_the_limit(rep: Any, manager: Any, customer: Any, make_contract: Any) -> None:
    assert credit.check(customer, D("1000000"), "CNY") is None  # no limit: no warning
    services.credit_set(ctx_of(manager), customer, limit=D("15000.00"))
    make_contract(rep, customer, status="active")  # owes 12,000
    assert credit.check(customer, D("3000.00"), "CNY") is None
    warning = credit.check(customer, D("3000.01"), "CNY")
    assert warning is not None
    assert "0.01" in warning
    assert "15,000.00" in warning


def test_over_limit_order_shows_the_warning_on_its_page(
    client: Any, rep: Any, manager: Any, customer: Any, make_contract: Any, make_order: Any
) -> None:
    services.credit_set(ctx_of(manager), customer, limit=D("12500.00"))
    make_contract(rep, customer, status="active")
    order = make_order(rep, customer, lines=[{"description": "Big order", "unit_price": "600"}])
    client.force_login(rep)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert 'data-testid="credit-warning"' in page
    assert "Over the credit limit" in page
    response = client.post(
        f"/orders/{order.pk}/transition/", {"status": "confirmed", "version": order.version}, follow=True
    )
    assert "Over the credit limit" in response.content.decode()  # a warning: the order is confirmed anyway
    order.refresh_from_db()
    assert order.status == "confirmed"


def test_within_limit_order_has_no_warning(client: Any, rep: Any, manager: Any, customer: Any, make_order: Any) -> None:
    services.credit_set(ctx_of(manager), customer, limit=D("12500.00"))
    order = make_order(rep, customer, lines=[{"description": "Small", "unit_price": "600"}])
    client.force_login(rep)
    assert 'data-testid="credit-warning"' not in client.get(f"/orders/{order.pk}/").content.decode()


def test_over_limit_order_warns_in_the_api(rep: Any, manager: Any, customer: Any, make_order: Any, api_as: Any) -> None:
    services.credit_set(ctx_of(manager), customer, limit=D("100.00"))
    order = make_order(rep, customer)
    api = api_as(rep)
    response = put(
        api, f"/orders/{order.pk}/lines/", {"lines": [{"description": "x", "quantity": "2", "unit_price": "60.00"}]}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total"] == "120.00"
    assert len(body["warnings"]) == 1
    assert "Over the credit limit" in body["warnings"][0]
    confirmed = api.post(f"/orders/{order.pk}/transition/", {"status": "confirmed"})
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "confirmed"
    assert confirmed.json()["warnings"]


def test_credit_limit_through_the_api(rep: Any, manager: Any, customer: Any, api_as: Any) -> None:
    assert_problem(put(api_as(rep), f"/customers/{customer.pk}/credit/", {"credit_limit": "5"}), 403)
    for bad in ("NaN", "lots", "-1", "1.001"):
        refused = put(api_as(manager), f"/customers/{customer.pk}/credit/", {"credit_limit": bad})
        assert error_fields(assert_problem(refused, 422)) == {"credit_limit"}
    response = put(
        api_as(manager), f"/customers/{customer.pk}/credit/", {"credit_limit": "5000.00", "credit_rating": "A"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["credit_limit"] == "5000.00"


# ---------------------------------------------------------------- API


def test_receivables_api_for_one_customer(ledger: dict[str, Any], rep: Any, api_as: Any) -> None:
    response = api_as(rep).get("/receivables/", {"customer": ledger["a"].pk})
    assert response.status_code == 200, response.content
    item = response.json()["items"][0]
    assert isinstance(item["outstanding"], str)  # exact decimals as strings, never floats
    assert [p["amount"] for p in item["payments"]] == ["130.00", "4000.00"]


def test_receivables_api_hides_other_teams_customers(ledger: dict[str, Any], other_rep: Any, api_as: Any) -> None:
    assert_problem(api_as(other_rep).get("/receivables/", {"customer": ledger["a"].pk}), 404)
    assert api_as(other_rep).get("/receivables/").json()["count"] == 0


def test_contract_api_crud_transition_and_plan(rep: Any, customer: Any, api_as: Any) -> None:
    api = api_as(rep)
    created = api.post(
        "/contracts/",
        {
            "customer": customer.pk,
            "title": "Service 2026",
            "start_date": "2026-01-01",
            "end_date": "2026-12-31",
            "amount": "9000.00",
            "currency": "CNY",
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "draft"
    assert body["amount"] == "9000.00"
    assert body["number"].startswith("CT-")
    pk = body["id"]
    ignored = api.patch(f"/contracts/{pk}/", {"status": "active", "title": "Service 2026/27"})
    assert ignored.status_code == 200
    assert ignored.json()["status"] == "draft"
    assert error_fields(assert_problem(api.patch(f"/contracts/{pk}/", {"end_date": "2025-01-01"}), 422)) == {"end_date"}
    bad = put(api, f"/contracts/{pk}/plan/", {"instalments": [{"due_date": "2026-02-01", "amount": "8999.99"}]})
    problem = assert_problem(bad, 422)
    assert "8,999.99 CNY" in problem["errors"][0]["message"]
    split = put(api, f"/contracts/{pk}/plan/", {"split": 4, "first_due": "2026-01-31"})
    assert split.status_code == 200, split.content
    assert [i["amount"] for i in split.json()["plan"]] == ["2250.00"] * 4
    moved = api.post(f"/contracts/{pk}/transition/", {"status": "active"})
    assert moved.status_code == 200
    assert moved.json()["status"] == "active"
    assert moved.json()["balance"]["outstanding"] == "9000.00"
    wrong = api.post(f"/contracts/{pk}/transition/", {"status": "draft"})
    assert "cannot move from Active to Draft" in assert_problem(wrong, 422)["errors"][0]["message"]
    paid = api.post(
        "/payments/", {"contract": pk, "amount": "2250.00", "received_on": "2026-02-01", "method": "wechat_pay"}
    )
    assert paid.status_code == 201, paid.content
    assert paid.json()["customer"] == customer.pk


def test_contract_api_permissions_and_visibility(
    rep: Any, reader: Any, other_rep: Any, customer: Any, make_contract: Any, api_as: Any
) -> None:
    contract = make_contract(rep, customer)
    assert_problem(api_as(reader).post(f"/contracts/{contract.pk}/transition/", {"status": "active"}), 403)
    assert_problem(api_as(other_rep).post(f"/contracts/{contract.pk}/transition/", {"status": "active"}), 404)
    assert_problem(api_as(other_rep).get(f"/contracts/{contract.pk}/"), 404)
    assert_problem(api_as(rep, "read").post(f"/contracts/{contract.pk}/transition/", {"status": "active"}), 403)


def test_stale_version_answers_409(rep: Any, customer: Any, make_contract: Any, api_as: Any) -> None:
    contract = make_contract(rep, customer)
    response = api_as(rep).post(
        f"/contracts/{contract.pk}/transition/", {"status": "active", "version": contract.version + 5}
    )
    assert_problem(response, 409)
