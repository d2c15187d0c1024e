"""Writing the audit log: record changes with their field diff, logins and other events."""

from __future__ import annotations

import datetime
import decimal
import functools
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from django.contrib.auth import user_logged_in, user_logged_out, user_login_failed
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.dispatch import receiver
from django.utils import timezone

from kehu.platform.context import Context, Source, client_ip
from kehu.platform.customfields.values import snapshot as custom_snapshot
from kehu.platform.fields import (
    encrypted_fields,
    open_custom,
    open_value,
    private_custom_kinds,
    seal_custom_value,
    seal_value,
)
from kehu.platform.instances import unsaved
from kehu.platform.models import AuditAction, AuditEntry

if TYPE_CHECKING:
    from django.http import HttpRequest


def sorted_names(items: Iterable[Any]) -> list[str]:
    """Names in a stable order for people and diffs (ignoring case first)."""
    return sorted((str(item) for item in items), key=lambda name: (name.casefold(), name))


def json_value(obj: models.Model, name: str) -> Any:
    """A field's value as JSON: foreign keys as ``{"id", "repr"}``, dates as ISO strings,
    many-to-many fields (tags) as the sorted names of the related objects."""
    return _json_reader(obj._meta.get_field(name))(obj, None)


def _json_reader(field: Any) -> Callable[[models.Model, dict[int, str] | None], Any]:
    """What ``json_value`` does for ``field``, as a function of the record and of a dictionary
    of the related records' names already worked out, by ``id()`` (a batch of records shares
    its owner and stage: ``str()`` of a stage translates its name every time)."""
    name = field.name
    if isinstance(field, models.ManyToManyField):

        def many(obj: models.Model, names: dict[int, str] | None = None) -> Any:
            return sorted_names(getattr(obj, name).all()) if obj.pk is not None else []

        return many
    if isinstance(field, models.ForeignKey):
        attname = field.attname

        def related(obj: models.Model, names: dict[int, str] | None = None) -> Any:
            pk = getattr(obj, attname)
            if pk is None:
                return None
            target = getattr(obj, name)
            if names is None:
                return {"id": pk, "repr": str(target)}
            text = names.get(id(target))
            if text is None:
                text = names[id(target)] = str(target)
            return {"id": pk, "repr": text}

        return related

    def plain(obj: models.Model, names: dict[int, str] | None = None) -> Any:
        value = getattr(obj, name)
        if isinstance(value, datetime.datetime | datetime.date | datetime.time):
            return value.isoformat()
        if isinstance(value, decimal.Decimal | uuid.UUID):
            return str(value)
        return value

    return plain


@functools.cache
def _json_readers(model: type[models.Model], names: tuple[str, ...]) -> tuple[tuple[str, Any], ...]:
    return tuple((name, _json_reader(model._meta.get_field(name))) for name in names)


def snapshot(obj: models.Model, fields: Iterable[str], names: dict[int, str] | None = None) -> dict[str, Any]:
    """``fields``' values as JSON, and the record's custom field values as ``custom.<name>``
    (the fields' readers worked out once per model: bulk paths take a snapshot per record;
    ``names``: a dictionary they share, for the names of the related records the records
    share, worked out once)."""
    return {name: read(obj, names) for name, read in _json_readers(type(obj), tuple(fields))} | custom_snapshot(obj)


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for the fields whose value changed (a name missing on one
    side, like a cleared custom value, counts as ``None``)."""
    names = [*after, *(name for name in before if name not in after)]
    return {name: [before.get(name), after.get(name)] for name in names if before.get(name) != after.get(name)}


def _map_pair(pair: Any, convert: Any) -> Any:
    return [convert(value) for value in pair] if isinstance(pair, list | tuple) else convert(pair)


def seal_changes(model: type[models.Model], changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` with the values of encrypted fields as tokens: the audit log never holds
    personal data in plain text (``opened_changes`` reads them back)."""
    sealed = dict(changes)
    for field in encrypted_fields(model):
        if field.name in sealed:
            sealed[field.name] = _map_pair(sealed[field.name], lambda value, f=field: seal_value(f, value))
    for name in _private_custom_keys(model, sealed):
        sealed[name] = _map_pair(sealed[name], seal_custom_value)
    return sealed


def _private_custom_keys(model: type[models.Model], changes: dict[str, Any]) -> list[str]:
    """The ``custom.<key>`` entries of ``changes`` that hold a phone or an email."""
    if not any(name.startswith("custom.") for name in changes):
        return []
    private = private_custom_kinds(model)
    return [name for name in changes if name.startswith("custom.") and name.removeprefix("custom.") in private]


def opened_changes(entry: AuditEntry) -> dict[str, Any]:
    """An entry's ``changes`` with the values of encrypted fields decrypted (raises
    DecryptionError; pages show a placeholder instead, see ``fields.readable``)."""
    model = ContentType.objects.get_for_id(entry.content_type_id).model_class() if entry.content_type_id else None
    if model is None:
        return dict(entry.changes)
    opened = dict(entry.changes)
    for field in encrypted_fields(model):
        if field.name in opened:
            opened[field.name] = _map_pair(opened[field.name], lambda value, f=field: open_value(f, value))
    for name in opened:
        if name.startswith("custom."):
            opened[name] = _map_pair(opened[name], open_custom)
    return opened


def entry_for(
    ctx: Context,
    action: str,
    obj: models.Model | None = None,
    *,
    changes: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    at: datetime.datetime | None = None,
) -> AuditEntry:
    """An unsaved entry, for callers that write many at once with ``bulk_insert`` (``at``:
    the moment of their change, one value for a batch; default now)."""
    user = ctx.user if getattr(ctx.user, "is_authenticated", False) else None
    return unsaved(
        AuditEntry,
        at=at or timezone.now(),
        actor=user,
        actor_label=user.get_username() if user else "",
        source=ctx.source,
        ip=ctx.ip,
        action=action,
        content_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=obj.pk if obj is not None else None,
        object_repr=str(obj)[:255] if obj is not None else "",
        changes=seal_changes(type(obj), changes) if obj is not None and changes else changes or {},
        token=ctx.token.prefix if ctx.token is not None else "",
        extra=extra or {},
    )


def audit(
    ctx: Context,
    action: str,
    obj: models.Model | None = None,
    *,
    changes: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = entry_for(ctx, action, obj, changes=changes, extra=extra)
    entry.save()
    return entry


def history_for(obj: models.Model) -> models.QuerySet[AuditEntry]:
    ct = ContentType.objects.get_for_model(obj)
    return AuditEntry.objects.filter(content_type=ct, object_id=obj.pk).select_related("actor")


def _request_context(request: HttpRequest | None, user: Any) -> Context:
    source = Source.API if request is not None and request.path.startswith("/api/") else Source.WEB
    return Context(user=user, source=source, ip=client_ip(request) if request is not None else None)


@receiver(user_logged_in)
def _audit_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    audit(_request_context(request, user), AuditAction.LOGIN)


@receiver(user_logged_out)
def _audit_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit(_request_context(request, user), AuditAction.LOGOUT)


@receiver(user_login_failed)
def _audit_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    from django.contrib.auth.models import AnonymousUser

    attempted = str(credentials.get("username") or credentials.get("email") or credentials.get("login") or "")
    ctx = _request_context(request, AnonymousUser())
    audit(ctx, AuditAction.LOGIN_FAILED, extra={"login": attempted[:150]})
