"""The checks of the data quality report, each named by a code that the record lists take as
``?quality=<code>``:

- ``invalid_phone`` / ``invalid_email``: a stored phone number or email address (encrypted
  fields and phone/email custom fields) that fails today's validation (libphonenumber, Django's
  EmailValidator). Values are encrypted, so a background scan (``services.scan_type``) reads
  them and stores ``QualityFinding`` rows; ``invalid_phone:mobile`` narrows to one field.
- ``missing_<field>`` / ``missing_cf_<name>``: a field the type's policy requires is blank or
  null — a query, no scan.
- ``inactive``: a customer with no interaction for the policy's months and created before
  that — a query.
"""

from __future__ import annotations

import calendar
import datetime
import functools
import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.platform import crypto
from kehu.platform.customfields.definitions import all_definitions
from kehu.platform.fields import CUSTOM_INDEX_KEY, CUSTOM_PURPOSE, encrypted_fields
from kehu.platform.models import CustomField
from kehu.platform.phones import normalize_phone
from kehu.platform.records import RecordType

INVALID_PHONE = "invalid_phone"
INVALID_EMAIL = "invalid_email"
INVALID_CODES = {"phone": INVALID_PHONE, "email": INVALID_EMAIL}
MISSING_PREFIX = "missing_"
CUSTOM_CODE_PREFIX = "cf_"  # missing_cf_<name>, like the lists' cf_<name> filters
INACTIVE = "inactive"
CUSTOM_PREFIX = "custom."  # a custom field in a finding's ``field``
# Kinds of custom field that always hold a value (a yes/no box) cannot be "missing".
NEVER_MISSING_CUSTOM = {CustomField.Kind.BOOLEAN}

_email_validator = EmailValidator()


# ---------------------------------------------------------------- values


@functools.lru_cache(maxsize=65536)
def phone_is_valid(value: str) -> bool:
    """Does a stored phone number pass today's validation? (Cached: a scan meets the same
    switchboard number on many records, and parsing costs ~0.1 ms.)"""
    try:
        normalize_phone(value)
    except ValidationError:
        return False
    return True


def email_is_valid(value: str) -> bool:
    try:
        _email_validator(value)
    except ValidationError:
        return False
    return True


def value_is_valid(kind: str, value: str) -> bool:
    """Blank is valid (a missing value is the policy's business, not a validation error)."""
    text = (value or "").strip()
    if not text:
        return True
    return phone_is_valid(text) if kind == "phone" else email_is_valid(text)


# ---------------------------------------------------------------- what a scan reads


@dataclass(frozen=True)
class ScanField:
    """A stored personal value a scan checks: a model field (``name``) or a custom field
    (``custom.<name>``)."""

    name: str
    kind: str  # phone | email
    label: str
    purpose: str  # the token purpose to decrypt it with

    @property
    def is_custom(self) -> bool:
        return self.name.startswith(CUSTOM_PREFIX)

    @property
    def key(self) -> str:
        return self.name.removeprefix(CUSTOM_PREFIX)


def scan_fields(rt: RecordType) -> list[ScanField]:
    """The encrypted phone and email fields of ``rt`` and its active phone/email custom fields."""
    found = [
        ScanField(field.name, field.kind, str(field.verbose_name), field.purpose)
        for field in encrypted_fields(rt.model)
        if field.kind in INVALID_CODES
    ]
    for definition in all_definitions(rt.key):
        if definition.active and definition.kind in INVALID_CODES:
            found.append(
                ScanField(f"{CUSTOM_PREFIX}{definition.name}", definition.kind, definition.label, CUSTOM_PURPOSE)
            )
    return found


def open_stored(value: Any, purpose: str) -> str | None:
    """A stored value as plain text; ``None`` when it is a token that does not decrypt (a
    retired key that was dropped: nothing a user can fix from the report)."""
    if not isinstance(value, str) or not value:
        return ""
    if not crypto.is_token(value):
        return value  # written before the field was encrypted
    try:
        return crypto.decrypt(value, purpose=purpose)
    except crypto.CryptoError:
        return None


def row_findings(fields: list[ScanField], raw: dict[str, Any]) -> list[tuple[str, str]]:
    """``[(code, field name)]`` of one record's stored values: ``raw`` maps each model field
    name to its column value (a token) and ``"custom"`` to the custom column's JSON text."""
    custom: dict[str, Any] | None = None
    found = []
    for field in fields:
        if field.is_custom:
            if custom is None:
                custom = _custom_values(raw.get("custom"))
            stored = custom.get(field.key)
        else:
            stored = raw.get(field.name)
        plain = open_stored(stored, field.purpose)
        if plain is not None and not value_is_valid(field.kind, plain):
            found.append((INVALID_CODES[field.kind], field.name))
    return found


def _custom_values(column: Any) -> dict[str, Any]:
    if isinstance(column, dict):
        return column
    if not column:
        return {}
    try:
        values = json.loads(column)
    except (TypeError, ValueError):
        return {}
    if not isinstance(values, dict):
        return {}
    values.pop(CUSTOM_INDEX_KEY, None)
    return values


# ---------------------------------------------------------------- required by policy


@dataclass(frozen=True)
class PolicyField:
    """A field a policy may require: ``name`` is a model field or ``custom.<name>``."""

    name: str
    label: str

    @property
    def code(self) -> str:
        if self.name.startswith(CUSTOM_PREFIX):
            return f"{MISSING_PREFIX}{CUSTOM_CODE_PREFIX}{self.name.removeprefix(CUSTOM_PREFIX)}"
        return f"{MISSING_PREFIX}{self.name}"


def policy_fields(rt: RecordType) -> list[PolicyField]:
    """The fields of ``rt`` a policy may require: writable fields that may be left blank
    (not yes/no boxes or many-to-many lists) and active custom fields."""
    found = []
    for name in dict.fromkeys([*rt.fields, *rt.create_only]):
        field = rt.model_field(name)
        if field.many_to_many or isinstance(field, models.BooleanField):
            continue
        if not (field.blank or field.null):
            continue  # every record has it already
        found.append(PolicyField(name, str(field.verbose_name)))
    for definition in all_definitions(rt.key):
        if definition.active and definition.kind not in NEVER_MISSING_CUSTOM:
            found.append(PolicyField(f"{CUSTOM_PREFIX}{definition.name}", definition.label))
    return found


def missing_q(rt: RecordType, name: str) -> Q:
    """Records of ``rt`` whose field ``name`` (or ``custom.<name>``) is blank or null."""
    if name.startswith(CUSTOM_PREFIX):
        key = name.removeprefix(CUSTOM_PREFIX)
        return (
            Q(custom__isnull=True)
            | ~Q(custom__has_key=key)
            | Q(**{f"custom__{key}": None})
            | Q(**{f"custom__{key}": ""})
            | Q(**{f"custom__{key}": []})
        )
    field = rt.model_field(name)
    condition = Q(**{f"{name}__isnull": True})
    if isinstance(field, models.CharField | models.TextField) and not isinstance(field, models.ForeignKey):
        condition |= Q(**{name: ""})
    return condition


# ---------------------------------------------------------------- inactivity


def inactive_cutoff(months: int, now: datetime.datetime | None = None) -> datetime.datetime:
    """``months`` calendar months before ``now`` (31 March less one month: the last of February)."""
    now = now or timezone.now()
    years, month_index = divmod(now.month - 1 - months, 12)
    year, month = now.year + years, month_index + 1
    return now.replace(year=year, month=month, day=min(now.day, calendar.monthrange(year, month)[1]))


def inactive_q(months: int, now: datetime.datetime | None = None) -> Q:
    """Customers created before the cutoff with no interaction (outside the trash) since."""
    from kehu.activities.models import Interaction

    cutoff = inactive_cutoff(months, now)
    recent = Interaction.objects.filter(customer=OuterRef("pk"), occurred_at__gte=cutoff)
    return Q(created_at__lt=cutoff) & Q(~Exists(recent))


def has_inactivity(rt: RecordType) -> bool:
    return rt.key == "customer"


def invalid_label(kind: str) -> str:
    return _("Invalid phone numbers") if kind == "phone" else _("Invalid email addresses")
