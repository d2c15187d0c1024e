"""Phone numbers (platform/phones.py): parsed with libphonenumber, default region CN, stored in
E.164, shown nationally at home and internationally abroad."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from kehu.platform.phones import format_phone, normalize_phone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("138 1234 5678", "+8613812345678"),
        ("13812345678", "+8613812345678"),
        ("138-1234-5678", "+8613812345678"),
        ("+86 138 1234 5678", "+8613812345678"),
        ("0086 138 1234 5678", "+8613812345678"),
        ("010 6552 9988", "+861065529988"),
        ("  021-6888 8888  ", "+862168888888"),
        ("+1 650 253 0000", "+16502530000"),
        ("+44 20 7946 0958", "+442079460958"),
        ("１３８１２３４５６７８", "+8613812345678"),
    ],
)
def test_valid_numbers_are_normalized_to_e164_with_china_as_default_region(text: str, expected: str) -> None:
    assert normalize_phone(text) == expected


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_input_stays_empty(text: str) -> None:
    assert normalize_phone(text) == ""


@pytest.mark.parametrize("text", ["12345", "138 1234 567", "call me", "+1 000 000 0000", "+86", "0000000000000"])
def test_invalid_numbers_are_refused(text: str) -> None:
    with pytest.raises(ValidationError) as raised:
        normalize_phone(text)

    assert raised.value.code == "invalid_phone"


def test_region_argument_reads_national_numbers_of_another_country() -> None:
    assert normalize_phone("(650) 253-0000", region="US") == "+16502530000"
    with pytest.raises(ValidationError):
        normalize_phone("(650) 253-0000")


def test_default_region_comes_from_settings(settings: Any) -> None:
    settings.KEHU_PHONE_REGION = "US"

    assert normalize_phone("650 253 0000") == "+16502530000"


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("+8613812345678", "138 1234 5678"),
        ("+861065529988", "010 6552 9988"),
        ("+16502530000", "+1 650-253-0000"),
        ("", ""),
        ("not a number", "not a number"),
    ],
)
def test_stored_numbers_are_shown_nationally_at_home_and_internationally_abroad(stored: str, shown: str) -> None:
    assert format_phone(stored) == shown
