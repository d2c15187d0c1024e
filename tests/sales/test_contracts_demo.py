"""Demo contracts, orders and payments: consistent with the deals, plans adding up, some
customers overdue, on the timelines and in the search."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum

from kehu.platform.models import AuditEntry, SearchDocument, TimelineEntry
from kehu.sales.contracts import receivables
from kehu.sales.contracts.models import Contract, Order, Payment

pytestmark = pytest.mark.django_db


def test_demo_adds_consistent_contracts_orders_and_payments() -> None:
    out = io.StringIO()
    call_command("demo", "--customers", "40", "--password", "Demo-pass-2026", stdout=out, stderr=io.StringIO())
    assert "contracts" in out.getvalue()
    contracts = list(Contract.objects.all())
    assert contracts, out.getvalue()
    for contract in contracts:
        assert contract.plan.aggregate(total=Sum("amount"))["total"] == contract.amount
        order = Order.objects.get(contract=contract)
        assert (
            order.total
            == contract.amount
            == sum((line.amount + line.tax_amount for line in order.lines.all()), Decimal(0))
        )
        assert order.customer_id == contract.customer_id
        if contract.opportunity_id is not None:
            assert order.opportunity_id == contract.opportunity_id
    paid = Payment.objects.aggregate(total=Sum("amount"))["total"]
    assert paid
    assert paid > 0
    owed = receivables.receivables_for(None)
    assert any(r.overdue > 0 for r in owed.values())  # some payments are late
    assert all(r.outstanding >= r.overdue >= 0 for r in owed.values())
    assert TimelineEntry.objects.filter(kind="contract").count() == len(contracts)
    assert TimelineEntry.objects.filter(kind="payment").count() == Payment.objects.count()
    assert SearchDocument.objects.filter(record_type="contract").count() == len(contracts)
    assert AuditEntry.objects.filter(object_repr__startswith="CT-").count() >= len(contracts)
