"""Phone numbers: parsed with libphonenumber (default region CN) and stored in E.164."""

from __future__ import annotations

import functools
import re

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _


@functools.cache
def default_region() -> str:
    """``KEHU_PHONE_REGION``, read once (reading a setting costs microseconds, and every phone
    of an import asks)."""
    return str(getattr(settings, "KEHU_PHONE_REGION", "CN"))


@receiver(setting_changed)
def _region_changed(setting: str, **kwargs: object) -> None:
    if setting == "KEHU_PHONE_REGION":
        default_region.cache_clear()


@functools.cache
def _cn_mobile() -> re.Pattern[str]:
    """libphonenumber's own pattern of Chinese mobile numbers (its metadata, not a copy)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    pattern = metadata.mobile.national_number_pattern if metadata and metadata.mobile else None
    return re.compile(pattern or r"(?!)")  # no metadata: no fast path


_CN_PREFIX = re.compile(r"^(?:\+86|0086)")


def _cn_mobile_e164(text: str) -> str:
    """The fast path of the common case (imports parse a phone per row): a Chinese mobile
    number, written plainly or with +86, spaces and hyphens, that libphonenumber's mobile
    pattern accepts is valid and its E.164 form is +86 and its eleven digits. Anything else:
    "" (parsed in full)."""
    compact = _CN_PREFIX.sub("", text.replace(" ", "").replace("-", ""), count=1)
    if (
        len(compact) == 11
        and compact.isascii()
        and compact.isdigit()
        and compact[0] == "1"
        and _cn_mobile().fullmatch(compact)
    ):
        return "+86" + compact
    return ""


def normalize_phone(value: str, *, region: str | None = None) -> str:
    """Return ``value`` in E.164 form; raise ValidationError when it is not a valid number."""
    text = (value or "").strip()
    if not text:
        return ""
    region = region or default_region()
    if (region == "CN" or text.startswith("+86")) and (fast := _cn_mobile_e164(text)):
        return fast
    try:
        parsed = phonenumbers.parse(text, region)
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
