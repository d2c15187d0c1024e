"""kehu.platform.money: places, rounding, rates, conversion, allocation; and the exchange rate
services (manual, CSV import, API upsert) of kehu.platform.rates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kehu.platform import money, rates
from kehu.platform.context import Context, Source
from kehu.platform.models import AuditEntry, Currency, ExchangeRate

D = Decimal
DAY = dt.date(2026, 3, 15)


def ctx(user: Any) -> Context:
    return Context(user=user, source=Source.WEB)


@pytest.fixture
def usd_rates(db: Any) -> None:
    ExchangeRate.objects.create(currency_id="USD", rate_date=dt.date(2026, 1, 1), rate=D("7.1000000000"))
    ExchangeRate.objects.create(currency_id="USD", rate_date=dt.date(2026, 3, 1), rate=D("7.2500000000"))
    ExchangeRate.objects.create(currency_id="JPY", rate_date=dt.date(2026, 1, 1), rate=D("0.0480000000"))
    ExchangeRate.objects.create(currency_id="EUR", rate_date=dt.date(2026, 2, 1), rate=D("7.8000000000"))


# ---------------------------------------------------------------- places and rounding


@pytest.mark.django_db
def test_seeded_currencies_are_active_with_babel_places() -> None:
    seeded = dict(Currency.objects.values_list("code", "decimal_places"))
    assert {"CNY", "USD", "EUR", "HKD", "JPY", "GBP"} <= set(seeded)
    assert seeded["JPY"] == 0
    assert seeded["CNY"] == 2
    assert Currency.objects.get(code="USD").name == "US Dollar"


@pytest.mark.django_db
def test_reporting_currency_comes_from_settings(settings: Any) -> None:
    assert money.reporting_currency() == "CNY"
    settings.KEHU_DEFAULT_CURRENCY = "usd"
    assert money.reporting_currency() == "USD"


@pytest.mark.django_db
def test_quantize_rounds_half_up_to_the_currency_places() -> None:
    assert money.quantize(D("2.345"), "CNY") == D("2.35")
    assert money.quantize(D("2.344"), "CNY") == D("2.34")
    assert money.quantize(D("-2.345"), "CNY") == D("-2.35")
    assert money.quantize(D("1234.5"), "JPY") == D("1235")
    assert money.quantize("0.005", "USD") == D("0.01")


@pytest.mark.django_db
def test_places_follow_an_admins_change_of_the_currency() -> None:
    jpy = Currency.objects.get(code="JPY")
    jpy.decimal_places = 2
    jpy.save()
    try:
        assert money.places("JPY") == 2
        assert money.quantize(D("1.005"), "JPY") == D("1.01")
    finally:
        jpy.decimal_places = 0
        jpy.save()


@pytest.mark.django_db
def test_places_of_a_currency_not_in_the_table_come_from_babel() -> None:
    assert money.places("KWD") == 3


# ---------------------------------------------------------------- rates and conversion


@pytest.mark.usefixtures("usd_rates")
def test_rate_on_takes_the_latest_rate_on_or_before_the_day() -> None:
    assert money.rate_on("USD", dt.date(2026, 2, 28)) == D("7.1")
    assert money.rate_on("USD", dt.date(2026, 3, 1)) == D("7.25")
    assert money.rate_on("usd", dt.date(2030, 1, 1)) == D("7.25")
    assert money.rate_on("CNY", dt.date(1999, 1, 1)) == 1


@pytest.mark.usefixtures("usd_rates")
def test_missing_rate_names_the_currency_and_the_day() -> None:
    with pytest.raises(money.MissingRate) as caught:
        money.rate_on("USD", dt.date(2025, 12, 31))
    assert isinstance(caught.value, ValidationError)
    assert "USD" in caught.value.messages[0]
    assert "2025-12-31" in caught.value.messages[0]
    with pytest.raises(money.MissingRate):
        money.rate_on("GBP", DAY)


@pytest.mark.usefixtures("usd_rates")
def test_convert_goes_through_the_reporting_currency_and_rounds_once() -> None:
    assert money.convert(D("100"), "USD", DAY) == D("725.00")
    assert money.convert(D("725"), "CNY", DAY, to="USD") == D("100.00")
    # USD → JPY: 10 × 7.25 / 0.048 = 1510.416… → 1510 (0 places)
    assert money.convert(D("10"), "USD", DAY, to="JPY") == D("1510")
    # EUR → USD: 33.33 × 7.8 / 7.25 = 35.85848… → 35.86
    assert money.convert(D("33.33"), "EUR", DAY, to="USD") == D("35.86")
    assert money.convert(D("1.005"), "USD", DAY, to="USD") == D("1.01")


@pytest.mark.usefixtures("usd_rates")
def test_convert_without_a_rate_raises_missing_rate() -> None:
    with pytest.raises(money.MissingRate):
        money.convert(D("1"), "GBP", DAY)
    with pytest.raises(money.MissingRate):
        money.convert(D("1"), "CNY", DAY, to="HKD")


@pytest.mark.usefixtures("usd_rates")
def test_rates_for_answers_many_currencies_and_days_in_one_query() -> None:
    days = [dt.date(2025, 12, 1), dt.date(2026, 1, 15), dt.date(2026, 3, 15)]
    with CaptureQueriesContext(connection) as queries:
        found = money.rates_for(["USD", "JPY", "CNY", "GBP", "EUR"], days)
    assert len(queries) == 1
    assert found[("USD", days[1])] == D("7.1")
    assert found[("USD", days[2])] == D("7.25")
    assert found[("JPY", days[2])] == D("0.048")
    assert found[("CNY", days[0])] == 1
    assert ("USD", days[0]) not in found
    assert ("EUR", days[1]) not in found
    assert not any(code == "GBP" for code, _day in found)


# ---------------------------------------------------------------- allocation and totals


@pytest.mark.django_db
def test_allocate_splits_a_total_into_parts_that_add_up_exactly() -> None:
    assert money.allocate(D("100.00"), [1, 1, 1], "CNY") == [D("33.34"), D("33.33"), D("33.33")]
    assert money.allocate(D("100"), [30, 70], "JPY") == [D("30"), D("70")]
    assert money.allocate(D("0.05"), [1, 1, 1, 1], "USD") == [D("0.02"), D("0.01"), D("0.01"), D("0.01")]
    assert money.allocate(D("-10.00"), [1, 2], "CNY") == [D("-3.33"), D("-6.67")]


@pytest.mark.django_db
def test_allocate_refuses_bad_weights() -> None:
    with pytest.raises(ValueError, match="weight"):
        money.allocate(D("1"), [], "CNY")
    with pytest.raises(ValueError, match="zero"):
        money.allocate(D("1"), [0, 0], "CNY")
    with pytest.raises(ValueError, match="negative"):
        money.allocate(D("1"), [1, -1], "CNY")


@pytest.mark.django_db
def test_total_adds_the_rounded_lines() -> None:
    assert money.total([D("0.004"), D("0.004"), D("0.004")], "CNY") == D("0.00")
    assert money.total([D("1.005"), D("2.005")], "CNY") == D("3.02")


# ---------------------------------------------------------------- properties

amounts = st.decimals(min_value=D("-1000000000"), max_value=D("1000000000"), places=4, allow_nan=False)
positive_rates = st.decimals(min_value=D("0.0001"), max_value=D("100000"), places=10, allow_nan=False).filter(
    lambda r: r > 0
)
codes = st.sampled_from(["CNY", "USD", "JPY", "EUR"])
HYPOTHESIS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.django_db
@HYPOTHESIS
@given(amount=amounts, rate_from=positive_rates, rate_to=positive_rates, target=codes)
def test_conversion_is_within_half_a_unit_of_the_exact_result(
    amount: Decimal, rate_from: Decimal, rate_to: Decimal, target: str
) -> None:
    result = money.convert_with(amount, rate_from, rate_to, target)
    exact = Fraction(amount) * Fraction(rate_from) / Fraction(rate_to)
    half_unit = Fraction(1, 2 * 10 ** money.places(target))
    assert abs(Fraction(result) - exact) <= half_unit
    assert result == result.quantize(money.quantum(target))


@pytest.mark.django_db
@HYPOTHESIS
@given(amount=amounts, code=codes)
def test_quantize_is_idempotent(amount: Decimal, code: str) -> None:
    once = money.quantize(amount, code)
    assert money.quantize(once, code) == once
    assert abs(Fraction(once) - Fraction(amount)) <= Fraction(1, 2 * 10 ** money.places(code))


@pytest.mark.django_db
@HYPOTHESIS
@given(lines=st.lists(amounts, min_size=0, max_size=20), code=codes)
def test_total_is_the_exact_sum_of_the_quantized_lines(lines: list[Decimal], code: str) -> None:
    expected = sum((Fraction(money.quantize(line, code)) for line in lines), Fraction(0))
    assert Fraction(money.total(lines, code)) == expected


@pytest.mark.django_db
@HYPOTHESIS
@given(
    amount=st.decimals(min_value=D("-10000000"), max_value=D("10000000"), places=2, allow_nan=False),
    weights=st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=24).filter(any),
    code=codes,
)
def test_allocated_parts_sum_to_the_total_and_stay_close_to_their_share(
    amount: Decimal, weights: list[int], code: str
) -> None:
    parts = money.allocate(amount, weights, code)
    total = money.quantize(amount, code)
    assert sum(parts, D(0)) == total
    unit = Fraction(1, 10 ** money.places(code))
    for part, weight in zip(parts, weights, strict=True):
        share = Fraction(total) * weight / sum(weights)
        assert abs(Fraction(part) - share) < unit
        assert part == part.quantize(money.quantum(code))


# ---------------------------------------------------------------- rate services


@pytest.mark.django_db
def test_admin_adds_and_changes_a_rate_with_audit(admin_user: Any) -> None:
    rate = rates.rate_save(ctx(admin_user), None, {"currency": "usd", "rate_date": "2026-04-01", "rate": "7.2"})
    assert (rate.currency_id, rate.rate, rate.source) == ("USD", D("7.2"), "manual")
    again = rates.rate_save(ctx(admin_user), None, {"currency": "USD", "rate_date": "2026-04-01", "rate": "7.3"})
    assert again.pk == rate.pk
    assert ExchangeRate.objects.get(pk=rate.pk).rate == D("7.3")
    assert AuditEntry.objects.filter(object_id=rate.pk, content_type__model="exchangerate").count() == 2


@pytest.mark.django_db
def test_rate_edit_refuses_a_clash_with_another_day(admin_user: Any) -> None:
    first = rates.rate_save(ctx(admin_user), None, {"currency": "USD", "rate_date": "2026-04-01", "rate": "7.2"})
    rates.rate_save(ctx(admin_user), None, {"currency": "USD", "rate_date": "2026-04-02", "rate": "7.3"})
    with pytest.raises(ValidationError) as caught:
        rates.rate_save(ctx(admin_user), first, {"rate_date": "2026-04-02"})
    assert "rate_date" in caught.value.message_dict


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"currency": "CNY", "rate_date": "2026-01-01", "rate": "1"}, "currency"),
        ({"currency": "XXQ", "rate_date": "2026-01-01", "rate": "1"}, "currency"),
        ({"currency": "USD", "rate_date": "2026-13-01", "rate": "1"}, "rate_date"),
        ({"currency": "USD", "rate_date": "2026-01-01", "rate": "0"}, "rate"),
        ({"currency": "USD", "rate_date": "2026-01-01", "rate": "-7"}, "rate"),
        ({"currency": "USD", "rate_date": "2026-01-01", "rate": "seven"}, "rate"),
        ({"currency": "USD", "rate_date": "2026-01-01", "rate": "7.12345678901"}, "rate"),
        ({"currency": "USD", "rate_date": "2026-01-01"}, "rate"),
    ],
)
def test_bad_rates_are_refused_with_the_field_named(admin_user: Any, data: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        rates.rate_save(ctx(admin_user), None, data)
    assert field in caught.value.message_dict
    assert not ExchangeRate.objects.exists()


@pytest.mark.django_db
def test_sales_cannot_change_rates_but_managers_can(rep: Any, make_user: Any) -> None:
    with pytest.raises(PermissionDenied):
        rates.rate_save(ctx(rep), None, {"currency": "USD", "rate_date": "2026-04-01", "rate": "7.2"})
    manager = make_user("chief", "manager")
    rates.rate_save(ctx(manager), None, {"currency": "USD", "rate_date": "2026-04-01", "rate": "7.2"})
    with pytest.raises(PermissionDenied):
        rates.currency_set_active(ctx(manager), Currency.objects.get(code="GBP"), False)


@pytest.mark.django_db
def test_admin_deactivates_a_currency_but_not_the_reporting_one(admin_user: Any) -> None:
    gbp = rates.currency_set_active(ctx(admin_user), Currency.objects.get(code="GBP"), False)
    assert Currency.objects.get(code="GBP").active is False
    assert AuditEntry.objects.filter(object_repr="GBP").exists()
    rates.currency_set_active(ctx(admin_user), gbp, True)
    with pytest.raises(ValidationError, match="reporting currency"):
        rates.currency_set_active(ctx(admin_user), Currency.objects.get(code="CNY"), False)


@pytest.mark.django_db
def test_admin_adds_a_currency_with_babel_places(admin_user: Any) -> None:
    kwd = rates.currency_add(ctx(admin_user), "kwd")
    assert (kwd.code, kwd.decimal_places, kwd.active) == ("KWD", 3, True)
    with pytest.raises(ValidationError):
        rates.currency_add(ctx(admin_user), "ZZZ")


# ---------------------------------------------------------------- CSV import

GOOD_CSV = "currency,date,rate\nUSD,2026-01-31,7.1234\nEUR,2026-01-31,7.81\nJPY,2026-01-31,0.0478\n"


@pytest.mark.django_db
def test_csv_dry_run_counts_without_writing(admin_user: Any) -> None:
    ExchangeRate.objects.create(currency_id="USD", rate_date=dt.date(2026, 1, 31), rate=D("7"))
    report = rates.rates_import_csv(ctx(admin_user), GOOD_CSV.encode(), dry_run=True)
    assert report.ok
    assert (report.rows, report.created, report.updated, report.unchanged) == (3, 2, 1, 0)
    assert ExchangeRate.objects.count() == 1
    assert ExchangeRate.objects.get().rate == D("7")


@pytest.mark.django_db
def test_csv_import_writes_every_line(admin_user: Any) -> None:
    report = rates.rates_import_csv(ctx(admin_user), ("\ufeff" + GOOD_CSV).encode(), dry_run=False)
    assert report.ok
    assert report.created == 3
    assert money.rate_on("EUR", dt.date(2026, 2, 1)) == D("7.81")
    assert set(ExchangeRate.objects.values_list("source", flat=True)) == {"csv"}


@pytest.mark.django_db
def test_csv_with_bad_lines_imports_nothing_and_names_each_line(admin_user: Any) -> None:
    content = (
        "USD,2026-01-31,7.1\n"
        "EUR,31/01/2026,7.8\n"  # line 2: date
        "ABC,2026-01-31,1\n"  # line 3: currency
        "JPY,2026-01-31,-1\n"  # line 4: rate
        "HKD,2026-01-31\n"  # line 5: columns
        "\n"
        "GBP,2026-01-31,9.1\n"
    )
    report = rates.rates_import_csv(ctx(admin_user), content.encode(), dry_run=False)
    assert not report.ok
    assert [line for line, _message in report.errors] == [2, 3, 4, 5]
    messages = dict(report.errors)
    assert "31/01/2026" in messages[2]
    assert "ABC" in messages[3]
    assert "3" in messages[5]
    assert not ExchangeRate.objects.exists()


@pytest.mark.django_db
def test_csv_that_is_not_utf8_or_empty_is_refused(admin_user: Any) -> None:
    assert not rates.rates_import_csv(ctx(admin_user), "USD,2026-01-01,7".encode("utf-16"), dry_run=False).ok
    assert not rates.rates_import_csv(ctx(admin_user), b"currency,date,rate\n", dry_run=False).ok


@pytest.mark.django_db
def test_csv_import_needs_the_rate_permissions(rep: Any) -> None:
    with pytest.raises(PermissionDenied):
        rates.rates_import_csv(ctx(rep), GOOD_CSV.encode(), dry_run=True)
