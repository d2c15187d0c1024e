"""The import's cell converters and file readers, with property-based tests: dates, amounts,
yes/no, the phone fast path agreeing with libphonenumber, encodings and delimiters."""

from __future__ import annotations

import codecs
import datetime
import decimal
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from kehu.dataio.imports import convert, readers
from kehu.platform.phones import normalize_phone

DATES = st.dates(min_value=datetime.date(1901, 1, 1), max_value=datetime.date(9999, 12, 31))


@given(DATES)
def test_dates_read_the_same_in_every_common_form(day: datetime.date) -> None:
    forms = [
        day.isoformat(),
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}.{day.month:02d}.{day.day:02d}",
        f"{day.year}年{day.month}月{day.day}日",
        f"{day.year}{day.month:02d}{day.day:02d}",
        f"{day.month:02d}/{day.day:02d}/{day.year}",
        f"{day.isoformat()} 00:00:00",
        day,
        datetime.datetime.combine(day, datetime.time(9, 30)),
    ]
    for form in forms:
        assert convert.to_date(form) == day, form
    assert convert.to_date(f"{day.day:02d}/{day.month:02d}/{day.year}", day_first=True) == day


@given(DATES)
def test_excel_serial_numbers_are_dates(day: datetime.date) -> None:
    serial = (day - convert.EXCEL_EPOCH).days
    assert convert.to_date(serial) == day
    assert convert.to_date(float(serial)) == day


@given(st.text(max_size=12))
def test_date_converter_never_fails_other_than_with_a_validation_error(text: str) -> None:
    try:
        result = convert.to_date(text)
    except ValidationError:
        return
    assert result is None or isinstance(result, datetime.date)


def test_impossible_dates_are_refused() -> None:
    for text in ["2026-02-30", "2026/13/1", "32/01/2026", "yesterday", "2026年2月29日"]:
        with pytest.raises(ValidationError):
            convert.to_date(text)


def test_datetimes_are_aware_and_keep_the_time() -> None:
    moment = convert.to_datetime("2026/3/1 14:30")
    assert moment is not None
    assert moment.tzinfo is not None
    assert (moment.hour, moment.minute) == (14, 30)
    assert convert.to_datetime("2026年3月1日").hour == 0  # type: ignore[union-attr]


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False, allow_infinity=False))
def test_amounts_with_separators_and_currency_signs_are_exact(amount: decimal.Decimal) -> None:
    grouped = f"{amount:,.2f}"
    for text in [
        str(amount),
        grouped,
        f"¥ {grouped}",
        f"￥{grouped}",
        f"{grouped} 元",
        f"CNY {grouped}",
        f"${grouped}",
    ]:
        assert convert.to_decimal(text) == amount, text


def test_ambiguous_or_wrong_numbers_are_refused() -> None:
    for text in ["1,23", "12,34,567", "abc", "1.2.3", "NaN", "Infinity"]:
        with pytest.raises(ValidationError):
            convert.to_decimal(text)
    assert convert.to_decimal("(1,200.00)") == decimal.Decimal("-1200.00")
    assert convert.to_integer("1,200") == 1200
    with pytest.raises(ValidationError):
        convert.to_integer("1.5")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("是", True),
        ("否", False),
        ("Yes", True),
        ("no", False),
        ("TRUE", True),
        ("false", False),
        ("1", True),
        ("0", False),
        ("Y", True),
        ("n", False),
        ("", None),
        (True, True),
        (1.0, True),
    ],
)
def test_booleans_in_english_and_chinese(text: Any, value: bool | None) -> None:
    assert convert.to_bool(text) is value


@given(
    st.text(min_size=1, max_size=8).filter(
        lambda t: t.strip().casefold() not in convert.TRUE_WORDS | convert.FALSE_WORDS
    )
)
def test_other_words_are_not_booleans(text: str) -> None:
    if not text.strip():
        assert convert.to_bool(text) is None
        return
    with pytest.raises(ValidationError):
        convert.to_bool(text)


def test_tags_split_on_chinese_and_latin_separators() -> None:
    assert convert.split_list("重点，华东；VIP、新客户, a;b") == ["重点", "华东", "VIP", "新客户", "a", "b"]


def test_text_undoes_the_exports_formula_guard_and_whole_floats() -> None:
    assert convert.text("'+86 138 0000 0000") == "+86 138 0000 0000"
    assert convert.text("'hello") == "'hello"
    assert convert.text(13800000000.0) == "13800000000"


MOBILE = st.from_regex(r"\A1[3-9][0-9]{9}\Z")


@settings(max_examples=400)
@given(MOBILE, st.sampled_from(["{}", "+86{}", "+86 {}", "0086{}", "{0}-{1}-{2}", "{0} {1} {2}", "+86-{0}-{1}-{2}"]))
def test_phone_fast_path_agrees_with_libphonenumber(number: str, form: str) -> None:
    text = form.format(number) if "{0}" not in form else form.format(number[:3], number[3:7], number[7:])
    try:
        parsed = phonenumbers.parse(text, "CN")
        expected = (
            phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            if phonenumbers.is_valid_number(parsed)
            else None
        )
    except phonenumbers.NumberParseException:
        expected = None
    if expected is None:
        with pytest.raises(ValidationError):
            normalize_phone(text)
    else:
        assert normalize_phone(text) == expected


# ---------------------------------------------------------------- readers


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("encoding", "prefix", "expected"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
        ("utf-16", b"", "utf-16"),
        ("gb18030", b"", "gb18030"),
        ("gbk", b"", "gb18030"),
    ],
)
def test_encodings_are_detected(tmp_path: Path, encoding: str, prefix: bytes, expected: str) -> None:
    text = "客户名称,城市,备注\n上海晨光科技有限公司,上海,长期合作伙伴\n北京远景贸易,北京,重点客户\n"
    path = _write(tmp_path, "data.csv", prefix + text.encode(encoding))
    info = readers.inspect_file(path)
    assert info.encoding == expected
    assert readers.read_headers(path, info) == ["客户名称", "城市", "备注"]
    assert next(cells for _line, cells in readers.data_rows(path, info)) == [
        "上海晨光科技有限公司",
        "上海",
        "长期合作伙伴",
    ]


def test_delimiters_and_multiline_cells_and_line_numbers(tmp_path: Path) -> None:
    path = _write(tmp_path, "data.csv", b'name;notes\n"A";"two\nlines"\n\n"B";"x;y"\n')
    info = readers.inspect_file(path)
    assert info.delimiter == ";"
    assert list(readers.data_rows(path, info)) == [(2, ["A", "two\nlines"]), (4, ["B", "x;y"])]
    tabs = _write(tmp_path, "t.txt", b"a\tb\n1\t2\n")
    assert readers.inspect_file(tabs).delimiter == "\t"


def test_sheet_names_and_a_missing_sheet(tmp_path: Path) -> None:
    from tests.dataio.import_support import xlsx_bytes

    path = _write(tmp_path, "book.xlsx", xlsx_bytes([["名称"], ["甲"]], sheet="客户"))
    assert readers.sheet_names(path) == ["客户"]
    info = readers.inspect_file(path)
    assert readers.read_headers(path, info, "客户") == ["名称"]
    with pytest.raises(ValidationError, match="no sheet"):
        readers.read_headers(path, info, "Other")
    assert readers.sheet_names(_write(tmp_path, "a.csv", b"a,b\n")) == []


def test_full_width_digits_go_through_libphonenumber() -> None:
    assert normalize_phone("１３８１２３４５６７８") == "+8613812345678"
