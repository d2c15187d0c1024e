"""The forecast: hand-computed Decimals for known opportunities in two currencies with known
rates, visibility, a currency without a rate, and the API."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from kehu.platform.models import Currency, ExchangeRate
from kehu.sales.opportunities import selectors, services
from kehu.sales.opportunities.models import Opportunity, Quota
from tests.sales.opportunity_support import *  # noqa: F403
from tests.sales.opportunity_support import D, ctx_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def fixture(rep: Any, other_rep: Any, make_opportunity: Any, stage: Any, settings: Any) -> dict[str, Any]:
    settings.KEHU_DEFAULT_CURRENCY = "CNY"
    Currency.objects.filter(code__in=["CNY", "USD", "EUR"]).update(active=True)
    ExchangeRate.objects.create(currency_id="USD", rate_date=datetime.date(2026, 1, 1), rate=D("7.1"))
    ExchangeRate.objects.create(currency_id="USD", rate_date=datetime.date(2026, 3, 1), rate=D("7.25"))
    ctx = ctx_for(rep)
    a = make_opportunity(rep, name="A", amount=D("10000"), expected_close_date=datetime.date(2026, 2, 15))
    services.opportunity_move(ctx, a, stage("proposal"))  # 40 %, best case
    b = make_opportunity(
        rep, name="B", amount=D("1000"), currency="USD", expected_close_date=datetime.date(2026, 3, 10)
    )
    services.opportunity_move(ctx, b, stage("negotiation"))  # 70 %, commit
    make_opportunity(rep, name="C", amount=D("333.33"), currency="USD", expected_close_date=datetime.date(2026, 1, 20))
    d = make_opportunity(rep, name="D", amount=D("5000"), expected_close_date=datetime.date(2026, 4, 1))
    services.opportunity_win(ctx, d)
    Opportunity.objects.filter(pk=d.pk).update(closed_at=datetime.datetime(2026, 2, 1, 10, tzinfo=datetime.UTC))
    make_opportunity(rep, name="E", amount=D("100"), currency="EUR", expected_close_date=datetime.date(2026, 2, 1))
    make_opportunity(other_rep, name="Other team", amount=D("999999"), expected_close_date=datetime.date(2026, 2, 1))
    Quota.objects.create(user=rep, period_start=datetime.date(2026, 1, 1), amount=D("10000"), currency="CNY")
    Quota.objects.create(user=rep, period_start=datetime.date(2026, 2, 1), amount=D("10000"), currency="CNY")
    Quota.objects.create(user=rep, period_start=datetime.date(2026, 3, 1), amount=D("1000"), currency="USD")
    return {"rep": rep}


def test_forecast_matches_hand_computed_figures(rep: Any, fixture: Any, django_assert_max_num_queries: Any) -> None:
    with django_assert_max_num_queries(8):
        result = selectors.forecast(rep, year=2026, period="quarter")
    assert result.currency == "CNY"
    [row] = result.rows
    q1 = row.cells[0]
    # weighted: A 10000 × 40 % = 4000.00; B 1000 USD × 70 % × 7.25 = 5075.00; C 333.33 USD × 10 % × 7.1
    # = 236.6643 → 236.66
    assert q1.weighted == D("9311.66")
    assert q1.pipeline == D("2366.64")  # C: 333.33 × 7.1 = 2366.643
    assert q1.best_case == D("10000.00")  # A
    assert q1.commit == D("7250.00")  # B: 1000 × 7.25
    assert q1.closed == D("5000.00")  # D, won on 1 February
    assert q1.quota == D("27250.00")  # 10000 + 10000 + 1000 USD × 7.25 (rate of 1 March)
    assert q1.open_count == 4
    assert q1.won_count == 1
    assert result.unconverted == {"EUR": D("100.00")}
    assert "EUR" in result.warnings[0]
    assert result.team_total.total.weighted == D("9311.66")
    assert all(cell.weighted == 0 for cell in row.cells[1:])


def test_months_split_the_same_figures(rep: Any, fixture: Any) -> None:
    result = selectors.forecast(rep, year=2026, period="month")
    [row] = result.rows
    assert [cell.weighted for cell in row.cells[:3]] == [D("236.66"), D("4000.00"), D("5075.00")]
    assert row.cells[1].closed == D("5000.00")


def test_forecast_api_answers_decimal_strings(rep: Any, fixture: Any, api_as: Any) -> None:
    response = api_as(rep, "read").get("/forecast/", {"year": 2026, "period": "quarter"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["currency"] == "CNY"
    assert body["rows"][0]["periods"][0]["weighted"] == "9311.66"
    assert body["total"]["total"]["closed"] == "5000.00"
    assert body["unconverted"] == {"EUR": "100.00"}
