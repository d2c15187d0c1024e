"""Active contracts past their end date expire through the housekeeping sweep, audited as the
system; the others are left alone, and ``kehu worker`` queues the sweep when it starts."""

from __future__ import annotations

import datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from kehu.platform import housekeeping
from kehu.platform.audit import history_for
from kehu.sales.contracts.expiry import expire_ended_contracts
from tests.sales.contracts_support import *  # noqa: F403
from tests.sales.contracts_support import START

pytestmark = pytest.mark.django_db


def test_active_contracts_past_their_end_expire_and_the_others_stay(
    rep: Any, customer: Any, make_contract: Any
) -> None:
    ended = make_contract(rep, customer, status="active", end_date=START + datetime.timedelta(days=30))
    running = make_contract(rep, customer, status="active", end_date=START + datetime.timedelta(days=400))
    draft = make_contract(rep, customer, end_date=START + datetime.timedelta(days=30))

    moved = expire_ended_contracts(today=START + datetime.timedelta(days=60))

    assert moved == 1
    for contract in (ended, running, draft):
        contract.refresh_from_db()
    assert (ended.status, running.status, draft.status) == ("expired", "active", "draft")
    entry = history_for(ended).filter(action="update").latest("at")
    assert (entry.source, entry.actor_id) == ("system", rep.pk)
    assert expire_ended_contracts(today=START + datetime.timedelta(days=60)) == 0  # a re-run does nothing


def test_the_sweep_is_registered_and_kehu_housekeeping_runs_it(rep: Any, customer: Any, make_contract: Any) -> None:
    make_contract(
        rep, customer, status="active", end_date=datetime.date(2020, 1, 31), start_date=datetime.date(2020, 1, 1)
    )
    assert {"reminders", "contract_expiry"} <= set(housekeeping.sweeps())

    out = StringIO()
    call_command("housekeeping", stdout=out)

    assert "contract_expiry: 1" in out.getvalue()
