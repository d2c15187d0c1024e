"""The pipeline board: columns, totals over every visible open opportunity, card limits,
bulk queries, and moves through the board's endpoint."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client

from kehu.platform.models import AuditEntry, Currency, ExchangeRate
from kehu.sales.opportunities import selectors
from kehu.sales.opportunities.models import Opportunity, OpportunityStageChange
from tests.sales.opportunity_support import *  # noqa: F403
from tests.sales.opportunity_support import D

pytestmark = pytest.mark.django_db


def _login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_board_columns_and_totals_in_the_reporting_currency(
    rep: Any, other_rep: Any, make_opportunity: Any, stage: Any, settings: Any, django_assert_max_num_queries: Any
) -> None:
    settings.KEHU_DEFAULT_CURRENCY = "CNY"
    Currency.objects.filter(code="USD").update(active=True)
    ExchangeRate.objects.create(currency_id="USD", rate_date=datetime.date(2020, 1, 1), rate=D("7"))
    make_opportunity(rep, name="One", amount=D("100.00"))
    make_opportunity(rep, name="Two", amount=D("10.00"), currency="USD", expected_close_date=datetime.date(2026, 5, 1))
    make_opportunity(rep, name="No amount")
    make_opportunity(other_rep, name="Not mine", amount=D("5000"))
    with django_assert_max_num_queries(6):
        board = selectors.board(rep)
    lead = board.columns[0]
    assert lead.stage.key == "lead"
    assert lead.count == 3
    assert len(lead.cards) == 3
    assert lead.amount == D("170.00")  # 100 + 10 USD × 7
    assert lead.weighted == D("17.00")  # 10 %
    assert [column.stage.key for column in board.columns][-2:] == ["won", "lost"]


def test_board_limits_cards_but_totals_count_all(rep: Any, make_opportunity: Any) -> None:
    for index in range(5):
        make_opportunity(rep, name=f"Deal {index}", amount=D("1"))
    board = selectors.board(rep, limit=2)
    lead = board.columns[0]
    assert len(lead.cards) == 2
    assert lead.count == 5
    assert lead.more == 3
    assert lead.amount == D("5.00")


def test_missing_rate_shows_unconverted_amount_with_a_warning(rep: Any, make_opportunity: Any) -> None:
    Currency.objects.filter(code="EUR").update(active=True)
    make_opportunity(rep, name="Euro", amount=D("50"), currency="EUR")
    board = selectors.board(rep)
    assert board.columns[0].unconverted == {"EUR": D("50.00")}
    assert board.warnings
    assert "EUR" in board.warnings[0]


def test_board_page_renders_cards_and_needs_view_permission(rep: Any, make_opportunity: Any, make_user: Any) -> None:
    opp = make_opportunity(rep, name="Shown deal", amount=D("12"))
    response = _login(rep).get("/opportunities/board/")
    assert response.status_code == 200
    assert b"Shown deal" in response.content
    assert f'data-testid="card-{opp.pk}"'.encode() in response.content
    assert b"vendor/sortablejs/Sortable.min.js" in response.content
    nobody = make_user("nobody", "service")
    Opportunity.objects.none()
    assert _login(nobody).get("/opportunities/board/").status_code == 200  # service: read


def test_board_amounts_read_with_digit_grouping(rep: Any, make_opportunity: Any) -> None:
    make_opportunity(rep, name="Big deal", amount=D("1234567.5"))
    content = _login(rep).get("/opportunities/board/").content.decode()
    assert "1,234,567.50 CNY" in content  # the card
    assert ">1,234,567.50</span>" in content  # the column total


def test_board_move_endpoint_moves_and_answers_totals(rep: Any, make_opportunity: Any, stage: Any) -> None:
    opp = make_opportunity(rep, name="Drag me", amount=D("100"))
    client = _login(rep)
    response = client.post(
        f"/opportunities/{opp.pk}/move/",
        {"stage": stage("qualified").pk, "version": 1},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ok"]
    assert body["version"] == 2
    assert body["totals"][str(stage("qualified").pk)]["amount"] == "100.00"
    assert body["totals"][str(stage("qualified").pk)]["amount_display"] == "100.00"
    assert body["totals"][str(stage("lead").pk)]["count"] == 0
    assert OpportunityStageChange.objects.filter(opportunity=opp, to_stage=stage("qualified")).exists()
    assert AuditEntry.objects.filter(object_id=opp.pk, action="update").exists()


def test_board_refused_move_answers_422_with_the_message(rep: Any, make_opportunity: Any, stage: Any) -> None:
    opp = make_opportunity(rep, name="No amount")
    response = _login(rep).post(
        f"/opportunities/{opp.pk}/move/", {"stage": stage("proposal").pk, "version": 1}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 422
    assert response.json()["message"] == "Moving to Proposal needs: Amount, Expected close date."
    assert Opportunity.objects.get(pk=opp.pk).stage == stage("lead")


def test_reader_cannot_drag(reader: Any, rep: Any, make_opportunity: Any, stage: Any) -> None:
    opp = make_opportunity(rep)
    response = _login(reader).post(
        f"/opportunities/{opp.pk}/move/", {"stage": stage("qualified").pk}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 403


def test_pages_render(rep: Any, admin_user: Any, make_opportunity: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Panel Co")
    opp = make_opportunity(rep, customer, name="Panel deal", amount=D("7"))
    client = _login(rep)
    assert b"Panel deal" in client.get(f"/customers/{customer.pk}/opportunities/").content
    assert client.get(f"/opportunities/{opp.pk}/").status_code == 200
    assert client.get("/opportunities/forecast/?year=2026&period=month").status_code == 200
    assert client.get("/opportunities/").status_code == 200
    assert client.get("/settings/pipelines/").status_code == 403
    admin = _login(admin_user)
    assert admin.get("/settings/pipelines/").status_code == 200
    assert admin.get("/opportunities/quotas/").status_code == 200
