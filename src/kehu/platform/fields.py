"""Model fields shared by record types: phone numbers, and encrypted personal fields with their
blind indexes (``EncryptedField``)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import django_filters
from django import forms
from django.apps import apps as global_apps
from django.core import checks
from django.core.exceptions import FieldError, ValidationError
from django.core.validators import MaxLengthValidator, validate_email
from django.db import models
from django.db.models import Q
from django.db.models.lookups import Exact, In, IsNull
from django.http import QueryDict
from django.utils.functional import Promise, cached_property
from django.utils.translation import gettext_lazy as _

from kehu.platform import crypto
from kehu.platform.phones import default_region, format_phone, normalize_phone

if TYPE_CHECKING:
    from kehu.platform.records import RecordType


class PhoneFormField(forms.CharField):
    def to_python(self, value: Any) -> str:
        return normalize_phone(super().to_python(value) or "")


class PhoneField(models.CharField):
    """A phone number normalized to E.164 on validation, so every path stores one form."""

    description = _("Phone number")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 32)
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> str:
        return normalize_phone(super().to_python(value) or "")

    def formfield(self, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("form_class", PhoneFormField)
        return super().formfield(**kwargs)


# ---------------------------------------------------------------- kinds of personal values

KINDS = ("phone", "email", "text")
DEFAULT_MAX_LENGTH = {"phone": 32, "email": 254, "text": 255}
INDEX_SUFFIX = "_bidx"


def normalize_value(kind: str, value: str) -> str:
    """The form a value of ``kind`` is stored in; raises ValidationError when it is not valid.
    Phones: E.164 (``kehu.platform.phones``); emails: lower case; text: stripped."""
    text = (value or "").strip()
    if not text:
        return ""
    if kind == "phone":
        return normalize_phone(text)
    if kind == "email":
        return text.lower()  # the field's validators check the address
    return text


def index_key(kind: str, value: str) -> str:
    """What the blind index of a stored value is computed from. Lenient: a stored value that
    no longer validates (legacy data) is still indexed, as written. Text is compared ignoring
    case, spaces and hyphens (ID and bank numbers are written with and without them)."""
    text = (value or "").strip()
    if not text:
        return ""
    if kind == "phone":
        return _phone_index_key(text, default_region())
    if kind == "email":
        return text.lower()
    return "".join(text.split()).replace("-", "").casefold()


@functools.lru_cache(maxsize=4096)
def _phone_index_key(text: str, region: str) -> str:
    """Parsing a number costs ~0.1 ms and a save parses it twice (validation, then the index)."""
    try:
        return normalize_phone(text, region=region)
    except ValidationError:
        return text


def lookup_key(kind: str, text: str) -> str:
    """``text`` typed by a user to find a value of ``kind``, in the form its blind index is
    computed from. Raises ValidationError when ``text`` cannot be such a value (a phone that
    does not parse, an email without ``@``)."""
    text = (text or "").strip()
    if not text:
        return ""
    if kind == "phone":
        return normalize_phone(text)
    if kind == "email":
        validate_email(text)
        return text.lower()
    return index_key(kind, text)


# ---------------------------------------------------------------- the fields


class _EncryptedExact(Exact):
    """``field=""`` finds empty values; any other value cannot be compared with a token."""

    def get_prep_lookup(self) -> Any:
        if self.rhs not in ("", None):
            raise FieldError(_refusal(self.lhs.output_field))
        return super().get_prep_lookup()


class _EncryptedIn(In):
    def get_prep_lookup(self) -> Any:
        if any(value not in ("", None) for value in self.rhs):
            raise FieldError(_refusal(self.lhs.output_field))
        return super().get_prep_lookup()


def _refusal(field: Any) -> str:
    return (
        f"{field.model.__name__}.{field.name} is encrypted: find values by its blind index "
        f"({field.name}{INDEX_SUFFIX}__in=blind_index_candidates(...)), e.g. with "
        "kehu.platform.fields.lookup_q() or encrypted_lookup_q()."
    )


class EncryptedField(models.TextField):
    """Personal data (phone numbers, email addresses, ID and bank numbers) encrypted at rest.

    The column holds an AES-GCM token (``kehu.platform.crypto``); the model attribute holds the
    plain text, normalized by ``kind`` on validation (``phone`` → E.164, ``email`` → lower case,
    ``text`` → stripped). Every encrypted field gets a companion column ``<name>_bidx``
    (``BlindIndexField``) holding the keyed blind index of the value, added automatically:
    exact lookups, filters and duplicate detection go through it (``lookup_q``). Values cannot
    be searched by a part, sorted or compared in SQL; such lookups raise FieldError.

    Writers that do not use ``save()``/``bulk_create()`` (which fill the index themselves) must
    write the index columns too: ``sync_blind_indexes(obj, names)`` sets them on the instance and
    returns their names for ``update()`` / ``bulk_update()``.
    """

    description = _("Encrypted text")

    def __init__(self, *args: Any, kind: str = "text", **kwargs: Any) -> None:
        if kind not in KINDS:
            raise ValueError(f"EncryptedField kind must be one of {', '.join(KINDS)}, not {kind!r}")
        self.kind = kind
        kwargs.setdefault("max_length", DEFAULT_MAX_LENGTH[kind])
        super().__init__(*args, **kwargs)

    @property
    def purpose(self) -> str:
        """What the tokens of this field are bound to: a token of another kind does not decrypt."""
        return f"field:{self.kind}"

    @property
    def index_name(self) -> str:
        return f"{self.name}{INDEX_SUFFIX}"

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["kind"] = self.kind
        if kwargs.get("max_length") == DEFAULT_MAX_LENGTH[self.kind]:
            del kwargs["max_length"]
        return name, path, args, kwargs

    def contribute_to_class(self, cls: type[models.Model], name: str, private_only: bool = False) -> None:
        super().contribute_to_class(cls, name, private_only=private_only)
        # Historical models in migrations declare the index column themselves.
        if cls._meta.abstract or private_only or cls._meta.apps is not global_apps:
            return
        if not any(f.name == self.index_name for f in cls._meta.local_fields):
            cls.add_to_class(self.index_name, BlindIndexField(source=name))

    @cached_property
    def validators(self) -> list[Any]:
        extra: list[Any] = [MaxLengthValidator(self.max_length)] if self.max_length else []
        if self.kind == "email":
            extra.append(validate_email)
        return [*super().validators, *extra]

    def to_python(self, value: Any) -> Any:
        if value is None:
            return "" if not self.null else None
        return normalize_value(self.kind, str(value))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return crypto.decrypt(value, purpose=self.purpose)

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, Promise):
            value = str(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value), purpose=self.purpose)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name == "exact":
            return _EncryptedExact
        if lookup_name == "in":
            return _EncryptedIn
        if lookup_name == "isnull":
            return IsNull
        return None  # FieldError "Unsupported lookup" for contains, startswith, gt, …

    def formfield(self, **kwargs: Any) -> Any:  # type: ignore[override]
        form_class = {"phone": PhoneFormField, "email": forms.EmailField, "text": forms.CharField}[self.kind]
        defaults = {"form_class": form_class, "max_length": self.max_length}
        return models.Field.formfield(self, **{**defaults, **kwargs})  # a one-line input, not a textarea

    def index_for(self, value: str) -> str:
        """The blind index of a plain value of this field, under the current key."""
        return crypto.blind_index(self.kind, index_key(self.kind, value or ""))

    def display(self, value: str) -> str:
        return format_phone(value) if self.kind == "phone" else value


class BlindIndexField(models.CharField):
    """The blind index of an ``EncryptedField`` (its ``source``): filled on ``save()`` and
    ``bulk_create()``, by ``sync_blind_indexes`` on the other write paths."""

    description = _("Blind index")

    def __init__(self, *args: Any, source: str = "", **kwargs: Any) -> None:
        self.source = source
        kwargs.setdefault("max_length", crypto.INDEX_LENGTH)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("db_index", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        return name, path, args, kwargs

    def contribute_to_class(self, cls: type[models.Model], name: str, private_only: bool = False) -> None:
        if any(f.name == name for f in cls._meta.local_fields):
            return  # already added by its EncryptedField
        super().contribute_to_class(cls, name, private_only=private_only)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        source = model_instance._meta.get_field(self.source)
        value = source.index_for(getattr(model_instance, source.attname)) if isinstance(source, EncryptedField) else ""
        setattr(model_instance, self.attname, value)
        return value


# ---------------------------------------------------------------- custom field values

CUSTOM_PURPOSE = "custom"
CUSTOM_INDEX_KEY = "_index"  # blind indexes of private custom values (custom field keys cannot start with _)
PRIVATE_CUSTOM_KINDS = frozenset({"phone", "email"})


def private_custom_kinds(model: type[models.Model]) -> dict[str, str]:
    """``{custom field key: kind}`` of ``model``'s custom fields that hold personal data
    (phones, emails), active or not: their values are stored encrypted."""
    from kehu.platform.customfields.definitions import all_definitions
    from kehu.platform.records import registry

    rt = registry.for_model_or_none(model)
    if rt is None:
        return {}
    return {d.name: d.kind for d in all_definitions(rt.key) if d.kind in PRIVATE_CUSTOM_KINDS}


def seal_custom(model: type[models.Model], values: dict[str, Any]) -> dict[str, Any]:
    """``values`` as stored: phones and emails encrypted, with their blind indexes under
    ``_index`` for exact lookups (``custom_lookup_q``)."""
    stored = {key: value for key, value in values.items() if key != CUSTOM_INDEX_KEY}
    if not stored:
        return stored
    index: dict[str, str] = {}
    for name, kind in private_custom_kinds(model).items():
        value = stored.get(name)
        if not isinstance(value, str) or not value:
            continue
        plain = crypto.decrypt(value, purpose=CUSTOM_PURPOSE) if crypto.is_token(value) else value
        try:
            key = lookup_key(kind, plain)
        except ValidationError:  # stored before it was checked: still found by its exact text
            key = plain
        index[name] = crypto.blind_index(kind, key)
        stored[name] = crypto.encrypt(plain, purpose=CUSTOM_PURPOSE)
    if index:
        stored[CUSTOM_INDEX_KEY] = index
    return stored


def seal_custom_value(value: Any) -> Any:
    """One private custom value as a token for storing elsewhere (audit entries)."""
    if not isinstance(value, str) or not value or crypto.is_token(value):
        return value
    return crypto.encrypt(value, purpose=CUSTOM_PURPOSE)


def open_custom(values: Any) -> Any:
    """Stored custom values (or one of them) as the application reads them: tokens decrypted,
    the index left out."""
    if isinstance(values, str) and crypto.is_token(values):
        return crypto.decrypt(values, purpose=CUSTOM_PURPOSE)
    if not isinstance(values, dict):
        return values
    return {
        key: crypto.decrypt(value, purpose=CUSTOM_PURPOSE)
        if isinstance(value, str) and crypto.is_token(value)
        else value
        for key, value in values.items()
        if key != CUSTOM_INDEX_KEY
    }


class CustomValuesField(models.JSONField):
    """The ``custom`` column of every record: admin-defined field values as JSON. Phones and
    emails are stored encrypted with a blind index (``seal_custom``); reads see plain values."""

    def deconstruct(self) -> Any:
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs  # the same column: no migration

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return open_custom(super().from_db_value(value, expression, connection))

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, dict) and value and hasattr(self, "model"):
            value = seal_custom(self.model, value)
        return super().get_prep_value(value)


def custom_lookup_q(rt: RecordType, text: str, names: Iterable[str] | None = None) -> Q | None:
    """Records of ``rt`` whose private custom field (each of ``names``, or all) equals
    ``text`` once normalized for its kind, through the blind index under every key; ``None``
    when ``text`` can be none of them."""
    condition: Q | None = None
    for name, kind in private_custom_kinds(rt.model).items():
        if names is not None and name not in names:
            continue
        try:
            key = lookup_key(kind, text)
        except ValidationError:
            continue
        if not key:
            continue
        match = Q(**{f"custom__{CUSTOM_INDEX_KEY}__{name}__in": crypto.blind_index_candidates(kind, key)})
        condition = match if condition is None else condition | match
    return condition


# ---------------------------------------------------------------- helpers for writers and readers


def encrypted_fields(model: type[models.Model]) -> list[EncryptedField]:
    """The encrypted fields of ``model``."""
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedField)]


def sync_blind_indexes(obj: models.Model, names: Iterable[str] | None = None) -> list[str]:
    """Recompute on ``obj`` the blind index of each encrypted field (all of them, or those among
    ``names``) from its current value; returns the index fields' names, to add to the columns an
    ``update()`` or ``bulk_update()`` writes."""
    wanted = None if names is None else set(names)
    written = []
    for field in encrypted_fields(type(obj)):
        if wanted is not None and field.name not in wanted and field.attname not in wanted:
            continue
        setattr(obj, field.index_name, field.index_for(getattr(obj, field.attname)))
        written.append(field.index_name)
    return written


def lookup_q(model: type[models.Model], name: str, text: str) -> Q:
    """Records of ``model`` whose encrypted field ``name`` equals ``text`` once normalized for
    its kind (any key of the keyring). Raises ValidationError (naming the field) when ``text``
    cannot be such a value."""
    field = model._meta.get_field(name)
    if not isinstance(field, EncryptedField):
        raise TypeError(f"{model.__name__}.{name} is not an encrypted field")
    try:
        key = lookup_key(field.kind, text)
    except ValidationError as error:
        raise ValidationError({name: error.messages}) from None
    return Q(**{f"{field.index_name}__in": crypto.blind_index_candidates(field.kind, key)})


def encrypted_lookup_qs(rt: RecordType, text: str) -> list[Q]:
    """Records of type ``rt`` with an encrypted search field equal to ``text``: one condition
    per such field (see ``encrypted_lookup_q``), for callers that query them one at a time."""
    conditions = []
    for name in rt.search_fields:
        field = rt.model_field(name)
        if not isinstance(field, EncryptedField):
            continue
        try:
            key = lookup_key(field.kind, text)
        except ValidationError:
            continue
        if key:
            conditions.append(Q(**{f"{field.index_name}__in": crypto.blind_index_candidates(field.kind, key)}))
    return conditions


def encrypted_lookup_q(rt: RecordType, text: str) -> Q | None:
    """Records of type ``rt`` with an encrypted search field equal to ``text``.

    For the search module: each encrypted field among ``rt.search_fields`` whose kind ``text``
    can be (a phone number that parses, in any format; an email address, in any case; any text
    for ``text`` fields) is matched exactly through its blind index, under every key of the
    keyring. Returns ``None`` when ``text`` is none of them, so that the caller adds nothing.
    Encrypted values cannot be matched by a part of them, and must never be copied into a
    search index: this function is the only way to find them.
    """
    condition: Q | None = None
    for match in encrypted_lookup_qs(rt, text):
        condition = match if condition is None else condition | match
    return condition


UNREADABLE = _("(cannot be decrypted)")


def readable(field: EncryptedField, value: Any) -> str:
    """A stored token (e.g. from an audit entry) as a person reads it; a placeholder when it
    does not decrypt (never an error)."""
    if value is None or value == "":
        return ""
    if not crypto.is_token(value):
        return str(value)  # written before the field was encrypted
    try:
        return field.display(crypto.decrypt(value, purpose=field.purpose))
    except crypto.CryptoError:
        return str(UNREADABLE)


def seal_value(field: EncryptedField, value: Any) -> Any:
    """A plain value of ``field`` as a token for storing elsewhere (audit entries)."""
    if value is None or value == "" or not isinstance(value, str):
        return value
    return crypto.encrypt(value, purpose=field.purpose)


def open_value(field: EncryptedField, value: Any) -> Any:
    """The plain value of a token made by ``seal_value``; raises DecryptionError."""
    if not crypto.is_token(value):
        return value
    return crypto.decrypt(value, purpose=field.purpose)


# ---------------------------------------------------------------- filters


class EncryptedLookupFormField(forms.CharField):
    """A filter input for an encrypted field: any format, normalized for the field's kind."""

    def __init__(self, *args: Any, kind: str = "text", **kwargs: Any) -> None:
        self.kind = kind
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> str:
        return lookup_key(self.kind, super().to_python(value) or "")


class EncryptedFilter(django_filters.CharFilter):
    """Exact match on an encrypted field through its blind index (every key of the keyring)."""

    field_class = EncryptedLookupFormField

    def __init__(self, *args: Any, kind: str, index_name: str, **kwargs: Any) -> None:
        self.kind = kind
        self.index_name = index_name
        super().__init__(*args, kind=kind, **kwargs)

    def filter(self, qs: Any, value: Any) -> Any:
        if not value:
            return qs
        return qs.filter(**{f"{self.index_name}__in": crypto.blind_index_candidates(self.kind, value)})


def encrypted_filter(field: EncryptedField) -> EncryptedFilter:
    return EncryptedFilter(
        field_name=field.name, label=field.verbose_name, kind=field.kind, index_name=field.index_name
    )


# ---------------------------------------------------------------- stored list queries

QUERY_PURPOSE = "query"


def personal_params(rt: RecordType) -> set[str]:
    """List parameters that may carry personal data: filters on encrypted fields, and the
    search text when the type has encrypted search fields."""
    names = {f.name for f in encrypted_fields(rt.model) if f.name in rt.filter_fields}
    if any(isinstance(rt.model_field(n), EncryptedField) for n in rt.search_fields):
        names.add("q")
    return names


def seal_query(rt: RecordType, query: str) -> str:
    """A list's query string for storing (saved views, the audit entry of an export) with the
    values of ``personal_params`` encrypted; ``unseal_query`` turns it back."""
    names = personal_params(rt)
    params = QueryDict(query, mutable=True)
    for name in names & set(params):
        values = params.getlist(name)
        params.setlist(
            name, [v if not v or crypto.is_token(v) else crypto.encrypt(v, purpose=QUERY_PURPOSE) for v in values]
        )
    return params.urlencode()


def unseal_query(params: QueryDict) -> QueryDict:
    """Request parameters with the values sealed by ``seal_query`` decrypted (a value that does
    not decrypt is left as it is, and fails validation as any wrong value would)."""
    if not any(crypto.is_token(value) for name in params for value in params.getlist(name)):
        return params
    result = QueryDict(mutable=True)
    for name in params:
        opened = []
        for value in params.getlist(name):
            if crypto.is_token(value):
                with contextlib.suppress(crypto.CryptoError):
                    value = crypto.decrypt(value, purpose=QUERY_PURPOSE)
            opened.append(value)
        result.setlist(name, opened)
    result._mutable = False
    return result


def reseal_query(query: str) -> str:
    """A stored query string with its sealed values under the current key (key rotation)."""
    params = QueryDict(query, mutable=True)
    changed = False
    for name in list(params):
        values = params.getlist(name)
        new = [crypto.reencrypt(v, purpose=QUERY_PURPOSE) if crypto.is_token(v) else v for v in values]
        if new != values:
            params.setlist(name, new)
            changed = True
    return params.urlencode() if changed else query


@checks.register(checks.Tags.models)
def check_encrypted_fields_in_record_types(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Encrypted fields cannot be sorted on (the column holds random-looking tokens)."""
    from kehu.platform.records import registry

    errors: list[checks.CheckMessage] = []
    for rt in registry:
        for name in rt.sortable:
            field = rt.model._meta.get_field(name)
            if isinstance(field, EncryptedField):
                errors.append(
                    checks.Error(
                        f"Record type {rt.key!r} lists the encrypted field {name!r} in sortable.",
                        hint="Encrypted values cannot be sorted; remove it from sortable.",
                        obj=rt.model,
                        id="kehu.E101",
                    )
                )
    return errors
