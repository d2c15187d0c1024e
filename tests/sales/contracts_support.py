"""Fixtures for the contracts, orders and receivables tests (imported by their modules):
a customer of the East rep, contracts, orders and payments made through the services."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

from kehu.platform.context import Context, Source
from kehu.sales.contracts import services

D = Decimal
START = datetime.date(2026, 1, 1)


def ctx_of(user: Any, source: str = Source.WEB) -> Context:
    return Context(user=user, source=source)


@pytest.fixture
def customer(rep: Any, make_customer: Any) -> Any:
    return make_customer(rep, name="Acme Trading")


@pytest.fixture
def make_contract() -> Any:
    def make(
        user: Any, customer: Any, *, status: str = "draft", plan: list[tuple[str, str]] | None = None, **data: Any
    ) -> Any:
        data.setdefault("title", "Supply agreement")
        data.setdefault("start_date", START)
        data.setdefault("amount", D("12000.00"))
        data.setdefault("currency", "CNY")
        contract = services.contract_create(ctx_of(user), {"customer": customer, **data})
        if plan is not None:
            services.contract_set_plan(
                ctx_of(user), contract, [{"due_date": day, "amount": amount} for day, amount in plan]
            )
        if status != "draft":
            services.contract_transition(ctx_of(user), contract, status)
        return contract

    return make


@pytest.fixture
def make_order() -> Any:
    def make(
        user: Any, customer: Any, *, lines: list[dict[str, Any]] | None = None, confirm: bool = False, **data: Any
    ) -> Any:
        data.setdefault("currency", "CNY")
        data.setdefault("order_date", START)
        order = services.order_create(ctx_of(user), {"customer": customer, **data})
        if lines is not None:
            services.order_set_lines(ctx_of(user), order, lines)
        if confirm:
            services.order_transition(ctx_of(user), order, "confirmed")
        return order

    return make


@pytest.fixture
def pay() -> Any:
    def make(user: Any, target: Any, amount: str, on: datetime.date = START, **data: Any) -> Any:
        key = "contract" if target._meta.model_name == "contract" else "order"
        return services.payment_create(ctx_of(user), {key: target, "amount": D(amount), "received_on": on, **data})

    return make


@pytest.fixture
def manager(make_user: Any, east: Any, south: Any) -> Any:
    return make_user("chief", "manager", "Head office")


@pytest.fixture
def teammate(make_user: Any, east: Any) -> Any:
    return make_user("mate", "sales", "East sales")


from tests.api.conftest import api_as, issue_token  # noqa: E402, F401  (API clients with tokens)
