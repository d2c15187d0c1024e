"""Phone numbers: parsed with libphonenumber (default region CN) and stored in E.164."""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def default_region() -> str:
    return getattr(settings, "KEHU_PHONE_REGION", "CN")


def normalize_phone(value: str, *, region: str | None = None) -> str:
    """Return ``value`` in E.164 form; raise ValidationError when it is not a valid number."""
    text = (value or "").strip()
    if not text:
        return ""
    try:
        parsed = phonenumbers.parse(text, region or default_region())
    except phonenumbers.NumberParseException:
        raise ValidationError(_("Enter a valid phone number."), code="invalid_phone") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(_("Enter a valid phone number."), code="invalid_phone")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def format_phone(value: str) -> str:
    """A stored E.164 number the way people read it (national form at home, international abroad)."""
    if not value:
        return ""
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    region = phonenumbers.region_code_for_number(parsed)
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if region == default_region()
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(parsed, fmt)
