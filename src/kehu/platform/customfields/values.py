"""Custom field values: one validation and coercion function per kind, used by every path that
writes them (services, forms, the API, imports and automation), and applying a set of values
to a record.

What is stored in ``record.custom`` is plain JSON that reads the same every time: decimals,
dates and date-times as strings (date-times in UTC, to the second, ``2026-03-01T01:30:00Z``),
money as ``{"amount": "12.50", "currency": "CNY"}``, multiple choices as a list in the order
of the choices, users and linked records as ids. Each cleaner accepts its own output, so a
value can go round (read, send back) without changing.
"""

from __future__ import annotations

import datetime
import decimal
import math
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, ProhibitNullCharactersValidator, URLValidator
from django.db import models
from django.utils.translation import gettext as _

from kehu.platform.customfields.definitions import PREFIX, Kind, all_definitions
from kehu.platform.models import CustomField
from kehu.platform.phones import normalize_phone

TEXT_MAX = 255
LONG_TEXT_MAX = 10_000
URL_MAX = 2_000
EMAIL_MAX = 254
# Whole numbers a JavaScript client reads exactly (±2^53 − 1).
INTEGER_MAX = 9_007_199_254_740_991
DECIMAL_INTEGER_DIGITS = 20
DECIMAL_PLACES = 10

Cleaner = Callable[[CustomField, Any, Any], Any]
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "on", "是"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "off", "否"})
_INTEGER_TEXT = re.compile(r"[+-]?(\d+|\d{1,3}(,\d{3})+)")
_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONEY_TEXT = re.compile(r"(?:(?P<pre>[A-Za-z]{3})\s*)?(?P<amount>[^A-Za-z\s]+)(?:\s*(?P<post>[A-Za-z]{3}))?")
_MULTI_SEPARATORS = re.compile(r"[,;，；、]")


def default_currency() -> str:
    return str(getattr(settings, "KEHU_DEFAULT_CURRENCY", "CNY")).upper()


@cache
def currencies() -> frozenset[str]:
    """ISO 4217 codes known to Babel's CLDR data."""
    from babel.numbers import list_currencies

    return frozenset(list_currencies())


def currency_places(code: str) -> int:
    from babel.numbers import get_currency_precision

    return int(get_currency_precision(code))


def is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | set | frozenset):
        return not value
    if isinstance(value, Mapping):
        return not value or ("amount" in value and is_empty(value["amount"]))
    return False


def _invalid(message: str, code: str = "invalid") -> ValidationError:
    return ValidationError(message, code=code)


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise _invalid(str(ProhibitNullCharactersValidator.message), "null_characters_not_allowed")
    return text


def _as_text(value: Any, message: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float | decimal.Decimal):
        raise _invalid(message)
    return _no_nul(str(value).strip())


def _limit(text: str, limit: int) -> str:
    if len(text) > limit:
        raise _invalid(
            _("Enter at most %(limit)d characters (this has %(count)d).") % {"limit": limit, "count": len(text)},
            "max_length",
        )
    return text


def _clean_text(definition: CustomField, value: Any, user: Any) -> Any:
    return _limit(_as_text(value, _("Enter text.")), TEXT_MAX)


def _clean_long_text(definition: CustomField, value: Any, user: Any) -> Any:
    text = _as_text(value, _("Enter text.")).replace("\r\n", "\n").replace("\r", "\n")
    return _limit(text, LONG_TEXT_MAX)


def _clean_integer(definition: CustomField, value: Any, user: Any) -> Any:
    message = _("Enter a whole number.")
    if isinstance(value, bool):
        raise _invalid(message)
    if isinstance(value, int):
        number = value
    elif isinstance(value, float | decimal.Decimal):
        finite = value.is_finite() if isinstance(value, decimal.Decimal) else math.isfinite(value)
        if not finite or value != int(value):
            raise _invalid(message)
        number = int(value)
    elif isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        number = int(value.strip().replace(",", ""))
    else:
        raise _invalid(message)
    if abs(number) > INTEGER_MAX:
        raise _invalid(
            _("Enter a whole number between %(min)s and %(max)s.") % {"min": -INTEGER_MAX, "max": INTEGER_MAX},
            "out_of_range",
        )
    return number


def _to_decimal(value: Any) -> decimal.Decimal:
    message = _("Enter a number.")
    if isinstance(value, bool) or not isinstance(value, str | int | float | decimal.Decimal):
        raise _invalid(message)
    try:
        number = decimal.Decimal(str(value).strip().replace(",", ""))
    except (decimal.InvalidOperation, ValueError):
        raise _invalid(message) from None
    if not number.is_finite():
        raise _invalid(message)
    return number


def _places(number: decimal.Decimal) -> int:
    exponent = number.normalize().as_tuple().exponent
    return max(0, -int(exponent))


def _integer_digits(number: decimal.Decimal) -> int:
    return len(str(abs(int(number)))) if abs(number) >= 1 else 0


def _clean_decimal(definition: CustomField, value: Any, user: Any) -> Any:
    number = _to_decimal(value)
    if _places(number) > DECIMAL_PLACES:
        raise _invalid(_("Enter at most %(places)d decimal places.") % {"places": DECIMAL_PLACES}, "max_decimal_places")
    if _integer_digits(number) > DECIMAL_INTEGER_DIGITS:
        raise _invalid(
            _("Enter at most %(digits)d digits before the decimal point.") % {"digits": DECIMAL_INTEGER_DIGITS},
            "max_whole_digits",
        )
    if number == 0:
        return "0"
    return format(number.normalize(), "f")


def clean_currency(value: Any) -> str:
    code = value.strip().upper() if isinstance(value, str) else ""
    if code not in currencies():
        raise _invalid(_("Enter a three-letter ISO 4217 currency code, such as CNY or USD."), "invalid_currency")
    return code


def _clean_money(definition: CustomField, value: Any, user: Any) -> Any:
    shape = _('Enter an amount, or an object {"amount": "12.50", "currency": "CNY"}.')
    if isinstance(value, Mapping):
        if set(value) - {"amount", "currency"} or "amount" not in value:
            raise _invalid(shape)
        amount, currency = value["amount"], value.get("currency") or default_currency()
    elif isinstance(value, str):
        found = _MONEY_TEXT.fullmatch(value.strip())
        if found is None or (found["pre"] and found["post"]):
            raise _invalid(shape)
        amount, currency = found["amount"], found["pre"] or found["post"] or default_currency()
    elif isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool):
        amount, currency = value, default_currency()
    else:
        raise _invalid(shape)
    currency = clean_currency(currency)
    number = _to_decimal(amount)
    places = currency_places(currency)
    if _places(number) > places:
        raise _invalid(
            _("Use at most %(places)d decimal places for %(currency)s.") % {"places": places, "currency": currency},
            "max_decimal_places",
        )
    if _integer_digits(number) > DECIMAL_INTEGER_DIGITS:
        raise _invalid(
            _("Enter at most %(digits)d digits before the decimal point.") % {"digits": DECIMAL_INTEGER_DIGITS},
            "max_whole_digits",
        )
    quantized = number.quantize(decimal.Decimal(1).scaleb(-places))
    if quantized == 0:
        quantized = abs(quantized)
    return {"amount": format(quantized, "f"), "currency": currency}


def _clean_date(definition: CustomField, value: Any, user: Any) -> Any:
    message = _("Enter a date as YYYY-MM-DD.")
    if isinstance(value, datetime.datetime):
        raise _invalid(message)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str) and _DATE_TEXT.fullmatch(value.strip()):
        try:
            return datetime.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise _invalid(message)


def _clean_datetime(definition: CustomField, value: Any, user: Any) -> Any:
    message = _("Enter a date and time with its time zone, such as 2026-03-01T09:30:00+08:00.")
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, str) and len(value.strip()) >= 16 and _DATE_TEXT.match(value.strip()):
        try:
            moment = datetime.datetime.fromisoformat(value.strip())
        except ValueError:
            raise _invalid(message) from None
    else:
        raise _invalid(message)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _invalid(message, "naive_datetime")
    moment = moment.astimezone(datetime.UTC).replace(microsecond=0)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _clean_boolean(definition: CustomField, value: Any, user: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise _invalid(_("Enter true or false."))


def choice_values(definition: CustomField) -> list[str]:
    return [str(choice["value"]) for choice in definition.choices or []]


def choice_label(definition: CustomField, value: Any) -> str:
    for choice in definition.choices or []:
        if str(choice["value"]) == str(value):
            return str(choice.get("label") or choice["value"])
    return str(value)


def _match_choice(definition: CustomField, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    values = choice_values(definition)
    if text in values:
        return text
    folded = text.casefold()
    for choice in definition.choices or []:
        if folded in (str(choice["value"]).casefold(), str(choice.get("label", "")).casefold()):
            return str(choice["value"])
    return None


def _unknown_choice(definition: CustomField, wrong: list[str]) -> ValidationError:
    allowed = choice_values(definition)
    shown = ", ".join(allowed[:20]) + (", …" if len(allowed) > 20 else "")
    return _invalid(
        _("%(value)s is not one of the choices (%(choices)s).") % {"value": ", ".join(wrong), "choices": shown},
        "invalid_choice",
    )


def _clean_choice(definition: CustomField, value: Any, user: Any) -> Any:
    found = _match_choice(definition, value)
    if found is None:
        raise _unknown_choice(definition, [str(value)[:100]])
    return found


def _clean_multi_choice(definition: CustomField, value: Any, user: Any) -> Any:
    if isinstance(value, str):
        items: list[Any] = [part for part in _MULTI_SEPARATORS.split(value) if part.strip()]
    elif isinstance(value, list | tuple | set | frozenset):
        items = list(value)
    else:
        raise _invalid(_("Send a list of values."))
    chosen, wrong = set(), []
    for item in items:
        found = _match_choice(definition, item)
        if found is None:
            wrong.append(str(item)[:100])
        else:
            chosen.add(found)
    if wrong:
        raise _unknown_choice(definition, wrong)
    ordered = [value for value in choice_values(definition) if value in chosen]
    return ordered or None


def _clean_url(definition: CustomField, value: Any, user: Any) -> Any:
    text = _as_text(value, _("Enter a valid URL."))
    if "://" not in text:
        text = f"https://{text}"
    _limit(text, URL_MAX)
    try:
        URLValidator(schemes=["http", "https"])(text)
    except ValidationError:
        raise _invalid(_("Enter a valid URL starting with http:// or https://.")) from None
    return text


def _clean_email(definition: CustomField, value: Any, user: Any) -> Any:
    text = _as_text(value, _("Enter a valid email address.")).lower()
    _limit(text, EMAIL_MAX)
    EmailValidator(message=_("Enter a valid email address."))(text)
    return text


def _clean_phone(definition: CustomField, value: Any, user: Any) -> Any:
    text = _as_text(value, _("Enter a valid phone number."))
    return normalize_phone(text) or None


def _primary_key(value: Any) -> int | None:
    if isinstance(value, models.Model):
        value = value.pk
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _clean_user(definition: CustomField, value: Any, user: Any) -> Any:
    from django.contrib.auth import get_user_model

    pk = _primary_key(value)
    if pk is None or not get_user_model()._default_manager.filter(pk=pk, is_active=True).exists():
        raise _invalid(_("Select a valid user."), "invalid_user")
    return pk


def _clean_link(definition: CustomField, value: Any, user: Any) -> Any:
    from kehu.platform.access import visible_to
    from kehu.platform.records import registry

    target = registry.get(definition.target)
    if target is None:
        raise _invalid(_("This field links to a record type that does not exist."), "invalid_target")
    pk = _primary_key(value)
    found = (
        pk is not None and user is not None and visible_to(user, target.model.objects.filter(pk=pk), target).exists()
    )
    if not found:
        raise _invalid(_("Select a valid %(type)s.") % {"type": target.label}, "invalid_link")
    return pk


CLEANERS: dict[str, Cleaner] = {
    Kind.TEXT: _clean_text,
    Kind.LONG_TEXT: _clean_long_text,
    Kind.INTEGER: _clean_integer,
    Kind.DECIMAL: _clean_decimal,
    Kind.MONEY: _clean_money,
    Kind.DATE: _clean_date,
    Kind.DATETIME: _clean_datetime,
    Kind.BOOLEAN: _clean_boolean,
    Kind.CHOICE: _clean_choice,
    Kind.MULTI_CHOICE: _clean_multi_choice,
    Kind.URL: _clean_url,
    Kind.EMAIL: _clean_email,
    Kind.PHONE: _clean_phone,
    Kind.USER: _clean_user,
    Kind.LINK: _clean_link,
}


def clean_value(definition: CustomField, value: Any, *, user: Any = None) -> Any:
    """``value`` for ``definition`` in its stored JSON form, or ``None`` when empty.

    ``user`` is the acting user: a link must point to a record they can see. Raises
    ValidationError with a message for this one field (whether it is required is the
    caller's business: see ``apply_values``)."""
    if is_empty(value):
        return None
    cleaner = CLEANERS.get(definition.kind)
    if cleaner is None:
        raise _invalid(_("This field has an unknown type."), "invalid_kind")
    return cleaner(definition, value, user)


def required_message() -> str:
    return _("This field is required.")


def apply_values(
    record_type: str, user: Any, current: Mapping[str, Any] | None, incoming: Any, *, is_new: bool
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The record's new ``custom`` dictionary and the errors by ``custom.<name>``.

    On create ``incoming`` is the whole set (absent keys get their default; a required field
    with neither is refused); on update it is merged into ``current`` (``None`` or an empty
    value removes a key). Unknown keys are refused; a field that is no longer active keeps its
    stored value and refuses a new one (sending the stored value back is not a change)."""
    stored = dict(current or {})
    result: dict[str, Any] = {} if is_new else dict(stored)
    errors: dict[str, list[str]] = {}
    if incoming is None:
        incoming = {}
    if not isinstance(incoming, Mapping):
        return result, {"custom": [_("Send an object of custom field values by key.")]}
    known = {definition.name: definition for definition in all_definitions(record_type)}
    for key, raw in incoming.items():
        name = f"{PREFIX}{key}"
        definition = known.get(str(key))
        if not is_new and key in stored and stored[key] == raw:
            continue  # the stored value sent back: no change (even if it would not be accepted today)
        if definition is None or not definition.active:
            errors[name] = [
                _("There is no custom field with this key.")
                if definition is None
                else _("This field is no longer in use; its value cannot be changed.")
            ]
            continue
        try:
            value = clean_value(definition, raw, user=user)
        except ValidationError as error:
            errors[name] = error.messages
            continue
        if value is None:
            if definition.required:
                errors[name] = [required_message()]
            result.pop(definition.name, None)
        else:
            result[definition.name] = value
    if is_new:
        for definition in known.values():
            if not definition.active or definition.name in incoming:
                continue
            if definition.default is not None:
                try:
                    value = clean_value(definition, definition.default, user=user)
                except ValidationError as error:
                    errors[f"{PREFIX}{definition.name}"] = [
                        _("The default value is not valid any more: %(error)s") % {"error": " ".join(error.messages)}
                    ]
                    continue
                if value is not None:
                    result[definition.name] = value
                    continue
            if definition.required:
                errors[f"{PREFIX}{definition.name}"] = [required_message()]
    return result, errors


@contextmanager
def values_applied(rt: Any, user: Any, obj: Any, data: Mapping[str, Any], *, is_new: bool) -> Iterator[None]:
    """Set ``obj.custom`` from ``data["custom"]`` and run the block (the model's own
    validation); raise the errors of both together, so a form or an API client sees every
    problem at once."""
    errors: dict[str, list[str]] = {}
    if is_new or "custom" in data:
        obj.custom, errors = apply_values(rt.key, user, obj.custom, data.get("custom"), is_new=is_new)
    try:
        yield
    except ValidationError as error:
        if not errors:
            raise
        own = {name: [ValidationError(message) for message in messages] for name, messages in errors.items()}
        merged = error.update_error_dict(own)
        raise ValidationError(merged) from None
    if errors:
        raise ValidationError(errors)


def snapshot(obj: Any) -> dict[str, Any]:
    """A record's custom values for the audit diff, as ``custom.<name>``."""
    values = getattr(obj, "custom", None) or {}
    return {f"{PREFIX}{name}": values[name] for name in sorted(values)}
