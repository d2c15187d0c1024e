"""Rewriting encrypted columns in place, in batches: ``kehu rotate-keys`` (re-encrypt under the
current key) and the migrations that encrypt a field's existing plain text (and decrypt it back
when reversed).

Rows are read and written with raw column updates: no ``version``, ``updated_at``, audit entry or
event, because neither rotation nor encryption changes the data. Each batch is one transaction,
and each row is written only if its encrypted columns still hold what was read (a value changed
by a user in the meantime is left alone and reported), so it runs while the application serves
users. Rows are chosen by an SQL condition on the token prefix, so a re-run picks up only the rows
still to do.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from django.apps import apps as global_apps
from django.db import connections, models, transaction

from kehu.platform import crypto
from kehu.platform.fields import EncryptedField, encrypted_fields, open_value, seal_value

# (field, stored value) → (new stored value, new index), or None to leave the column as it is.
Transform = Callable[[EncryptedField, str], "tuple[str, str] | None"]


@dataclass
class TableResult:
    label: str
    pending: int = 0
    rows: int = 0
    values: int = 0
    changed_meanwhile: int = 0
    batches: int = 0
    failures: list[tuple[Any, str, str]] = field(default_factory=list)  # (pk, field, error)


def encrypted_models(app_configs: Iterable[Any] | None = None) -> list[type[models.Model]]:
    """Concrete models with encrypted fields (every installed app, or those given)."""
    configs = global_apps.get_app_configs() if app_configs is None else app_configs
    found = []
    for config in configs:
        for model in config.get_models():
            if not model._meta.abstract and not model._meta.proxy and encrypted_fields(model):
                found.append(model)
    return found


def _column(model: type[models.Model], name: str) -> str:
    return cast("models.Field", model._meta.get_field(name)).column


def count_pending(model: type[models.Model], pending_sql: Callable[[str], str], using: str = "default") -> int:
    """How many rows of ``model`` match ``pending_sql`` for one of their encrypted columns."""
    connection = connections[using]
    quote = connection.ops.quote_name
    where = " OR ".join(f"({pending_sql(quote(f.column))})" for f in encrypted_fields(model))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {quote(model._meta.db_table)} WHERE {where}")  # noqa: S608
        return int(cursor.fetchone()[0])


def rewrite(
    model: type[models.Model],
    *,
    transform: Transform,
    pending_sql: Callable[[str], str],
    using: str = "default",
    batch_size: int = 500,
    max_batches: int | None = None,
    progress: Callable[[TableResult], None] | None = None,
) -> TableResult:
    """Apply ``transform`` to every encrypted column of the rows of ``model`` that match
    ``pending_sql(quoted column)`` for one of their encrypted columns."""
    connection = connections[using]
    quote = connection.ops.quote_name
    fields = encrypted_fields(model)
    table = quote(model._meta.db_table)
    pk = quote(model._meta.pk.column)  # type: ignore[union-attr]
    pairs = [(f, quote(f.column), quote(_column(model, f.index_name))) for f in fields]
    selected = ", ".join(f"{column}, {index}" for _f, column, index in pairs)
    where = " OR ".join(f"({pending_sql(column)})" for _f, column, _index in pairs)
    assignments = ", ".join(f"{column} = %s, {index} = %s" for _f, column, index in pairs)
    unchanged = " AND ".join(f"{column} = %s" for _f, column, _index in pairs)
    update = f"UPDATE {table} SET {assignments} WHERE {pk} = %s AND {unchanged}"  # noqa: S608 -- quoted names

    result = TableResult(label=model._meta.label, pending=count_pending(model, pending_sql, using))
    last: Any = None
    while result.pending and (max_batches is None or result.batches < max_batches):
        with transaction.atomic(using=using), connection.cursor() as cursor:
            after = f"{pk} > %s AND " if last is not None else ""
            cursor.execute(
                f"SELECT {pk}, {selected} FROM {table} WHERE {after}({where}) ORDER BY {pk} LIMIT %s",  # noqa: S608
                [*([last] if last is not None else []), batch_size],
            )
            rows = cursor.fetchall()
            if not rows:
                break
            params = []
            for row in rows:
                last = row[0]
                new_values: list[Any] = []
                old_values: list[Any] = []
                touched = 0
                for position, (f, _column_name, _index) in enumerate(pairs):
                    stored, stored_index = row[1 + 2 * position] or "", row[2 + 2 * position] or ""
                    old_values.append(stored)
                    try:
                        new = transform(f, stored)
                    except crypto.CryptoError as error:
                        result.failures.append((row[0], f.name, str(error)))
                        new = None
                    if new is None:
                        new_values.extend([stored, stored_index])
                    else:
                        new_values.extend(new)
                        touched += 1
                if touched:
                    params.append([*new_values, row[0], *old_values])
                    result.values += touched
            if params:
                cursor.executemany(update, params)
                written = cursor.rowcount if cursor.rowcount is not None and cursor.rowcount >= 0 else len(params)
                result.rows += written
                result.changed_meanwhile += len(params) - written
        result.batches += 1
        if progress is not None:
            progress(result)
        if len(rows) < batch_size:
            break
    return result


# ---------------------------------------------------------------- the transforms


def _encrypt(f: EncryptedField, plain: str) -> tuple[str, str]:
    return crypto.encrypt(plain, purpose=f.purpose), f.index_for(plain)


def to_current_key(f: EncryptedField, stored: str) -> tuple[str, str] | None:
    """Rotation: a value under an older key (or still in plain text) under the current one."""
    if not stored:
        return None
    if crypto.is_token(stored):
        if crypto.token_key_id(stored) == crypto.keyring().current.id:
            return None
        return _encrypt(f, crypto.decrypt(stored, purpose=f.purpose))
    return _encrypt(f, stored)


def not_under_key_sql(key_id: str) -> Callable[[str], str]:
    return lambda column: f"{column} <> '' AND {column} NOT LIKE '{crypto.TOKEN_PREFIX}{key_id}$%%'"


def encrypt_plain(f: EncryptedField, stored: str) -> tuple[str, str] | None:
    """Migration forwards: plain text encrypted (as stored; the index from its normalized form)."""
    if not stored or crypto.is_token(stored):
        return None
    return _encrypt(f, stored)


def plain_sql(column: str) -> str:
    return f"{column} <> '' AND {column} NOT LIKE '{crypto.TOKEN_PREFIX}%%'"


def decrypt_to_plain(f: EncryptedField, stored: str) -> tuple[str, str] | None:
    """Migration backwards: the plain text back, no index."""
    if not crypto.is_token(stored):
        return None
    return crypto.decrypt(stored, purpose=f.purpose), ""


def token_sql(column: str) -> str:
    return f"{column} LIKE '{crypto.TOKEN_PREFIX}%%'"


@contextmanager
def audit_updates_allowed(connection: Any) -> Iterator[None]:
    """Lift the database's refusal of audit-log updates for the block (inside a migration's
    transaction: a failure rolls the lifting back with everything else)."""
    append_only = importlib.import_module("kehu.platform.migrations.0002_audit_append_only")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending trigger events: ALTER TABLE refuses them
            cursor.execute("ALTER TABLE platform_auditentry DISABLE TRIGGER platform_auditentry_no_update")
        elif connection.vendor == "sqlite":
            cursor.execute(append_only.SQLITE_REVERSE)
    yield
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE platform_auditentry ENABLE TRIGGER platform_auditentry_no_update")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        elif connection.vendor == "sqlite":
            cursor.execute(append_only.SQLITE)


def _convert_changes(fields: dict[str, EncryptedField], changes: Any, *, seal: bool) -> Any:
    if not isinstance(changes, dict):
        return changes
    result = dict(changes)
    for name, encrypted in fields.items():
        pair = result.get(name)
        if not isinstance(pair, list):
            continue
        if seal:
            result[name] = [
                seal_value(encrypted, v) if isinstance(v, str) and not crypto.is_token(v) else v for v in pair
            ]
        else:
            result[name] = [open_value(encrypted, v) for v in pair]
    return result


def convert_audit_values(apps: Any, using: str, app_label: str, *, seal: bool, batch_size: int = 1000) -> int:
    """Encrypt (``seal``) or decrypt the values of an app's encrypted fields kept in audit entries
    written before the fields were encrypted. A one-off of the migration that encrypts the
    fields: the entries say the same, only no longer in plain text. Returns how many changed."""
    audit_entry = apps.get_model("platform", "AuditEntry")
    content_type = apps.get_model("contenttypes", "ContentType")
    by_name = {m._meta.model_name: m for m in apps.get_app_config(app_label).get_models() if encrypted_fields(m)}
    types = {
        ct.pk: {f.name: f for f in encrypted_fields(by_name[ct.model])}
        for ct in content_type.objects.using(using).filter(app_label=app_label, model__in=list(by_name))
    }
    entries = audit_entry.objects.using(using).filter(content_type_id__in=list(types)).exclude(changes={})
    if not types or not entries.exists():
        return 0
    count = 0
    writer: models.QuerySet[Any] = models.QuerySet(model=audit_entry, using=using)  # the model's refuses updates
    with audit_updates_allowed(connections[using]):
        pending: list[Any] = []
        for entry in entries.only("pk", "content_type_id", "changes").order_by("pk").iterator(chunk_size=batch_size):
            changes = _convert_changes(types[entry.content_type_id], entry.changes, seal=seal)
            if changes != entry.changes:
                entry.changes = changes
                pending.append(entry)
            if len(pending) >= batch_size:
                writer.bulk_update(pending, ["changes"])
                count, pending = count + len(pending), []
        writer.bulk_update(pending, ["changes"])
        count += len(pending)
    return count


def convert_idempotent_answers(apps: Any, using: str, *, seal: bool, batch_size: int = 1000) -> int:
    """Encrypt (``seal``) or decrypt the stored answers of idempotent API requests."""
    model = apps.get_model("platform", "IdempotencyKey")
    pending: list[Any] = []
    count = 0
    for answer in model.objects.using(using).only("pk", "body").order_by("pk").iterator(chunk_size=batch_size):
        if seal and not crypto.is_token(answer.body):
            answer.body = crypto.encrypt_json(answer.body, purpose=crypto.IDEMPOTENCY_PURPOSE)
        elif not seal and crypto.is_token(answer.body):
            answer.body = crypto.decrypt_json(answer.body, purpose=crypto.IDEMPOTENCY_PURPOSE)
        else:
            continue
        pending.append(answer)
        if len(pending) >= batch_size:
            model.objects.using(using).bulk_update(pending, ["body"])
            count, pending = count + len(pending), []
    model.objects.using(using).bulk_update(pending, ["body"])
    return count + len(pending)


def migration_operations(app_label: str, batch_size: int = 1000) -> tuple[Any, Any]:
    """``RunPython`` functions that encrypt the existing plain values of an app's encrypted
    fields and fill their blind indexes, and encrypt the copies of them written before: in the
    audit log and in stored idempotent API answers (forwards); and put the plain text back
    (backwards)."""

    def run(apps: Any, schema_editor: Any, transform: Transform, pending_sql: Callable[[str], str]) -> None:
        using = schema_editor.connection.alias
        for model in apps.get_app_config(app_label).get_models():
            if encrypted_fields(model):
                result = rewrite(
                    model, transform=transform, pending_sql=pending_sql, using=using, batch_size=batch_size
                )
                if result.failures:
                    pk, name, error = result.failures[0]
                    raise RuntimeError(f"{model._meta.label} #{pk} {name}: {error}")

    def forwards(apps: Any, schema_editor: Any) -> None:
        run(apps, schema_editor, encrypt_plain, plain_sql)
        using = schema_editor.connection.alias
        convert_audit_values(apps, using, app_label, seal=True, batch_size=batch_size)
        convert_idempotent_answers(apps, using, seal=True, batch_size=batch_size)

    def backwards(apps: Any, schema_editor: Any) -> None:
        using = schema_editor.connection.alias
        convert_idempotent_answers(apps, using, seal=False, batch_size=batch_size)
        convert_audit_values(apps, using, app_label, seal=False, batch_size=batch_size)
        run(apps, schema_editor, decrypt_to_plain, token_sql)

    return forwards, backwards


# ---------------------------------------------------------------- custom field values


def rotate_custom_values(
    model: type[models.Model],
    *,
    batch_size: int = 500,
    max_batches: int | None = None,
    progress: Callable[[TableResult], None] | None = None,
) -> TableResult:
    """Re-encrypt the phone and email custom values of ``model``'s records under the current
    key and recompute their blind indexes (values stored before they were encrypted are
    encrypted). A row is written only if its ``version`` is still the one read; a re-run picks
    up what is left."""
    import json

    from django.db.models import Q, TextField
    from django.db.models.functions import Cast

    from kehu.platform.fields import CUSTOM_INDEX_KEY, private_custom_kinds

    result = TableResult(label=f"{model._meta.label} (custom fields)")
    private = private_custom_kinds(model)
    if not private:
        return result
    current = crypto.keyring().current.id

    def stale(raw: str) -> int:
        """How many private values of a stored row need rewriting."""
        stored = json.loads(raw) if raw else {}
        index = stored.get(CUSTOM_INDEX_KEY) or {}
        count = 0
        for name in private:
            value = stored.get(name)
            if not isinstance(value, str) or not value:
                continue
            if not crypto.is_token(value) or crypto.token_key_id(value) != current or name not in index:
                count += 1
        return count

    manager = model.all_objects  # type: ignore[attr-defined]
    rows_with_values = manager.filter(Q(custom__has_any_keys=list(private))).order_by("pk")
    result.pending = rows_with_values.count()
    last = 0
    while max_batches is None or result.batches < max_batches:
        with transaction.atomic():
            batch = list(
                rows_with_values.filter(pk__gt=last)
                .annotate(stored=Cast("custom", TextField()))
                .values_list("pk", "version", "stored", "custom")[:batch_size]
            )
            if not batch:
                break
            for pk, version, raw, values in batch:
                last = pk
                try:
                    touched = stale(raw)
                except crypto.CryptoError as error:
                    result.failures.append((pk, "custom", str(error)))
                    continue
                if not touched:
                    continue
                if manager.filter(pk=pk, version=version).update(custom=values):  # sealed anew on the way in
                    result.rows += 1
                    result.values += touched
                else:
                    result.changed_meanwhile += 1
        result.batches += 1
        if progress is not None:
            progress(result)
        if len(batch) < batch_size:
            break
    return result
