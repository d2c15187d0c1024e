"""``kehu rotate-keys``: make a new encryption key current and re-encrypt every encrypted value.

With ``--new`` (keys in the data directory) a new key is generated into ``encryption.key`` and the
old one moves to ``encryption.old-keys``; with ``KEHU_ENCRYPTION_KEY`` the operator sets the new
key there and the old one in ``KEHU_ENCRYPTION_OLD_KEYS`` first. Then every encrypted field of
every model is re-encrypted under the current key and its blind index recomputed, in batches,
while Kehu keeps serving (see ``kehu.platform.rekey``). Interrupted, it simply runs again.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from kehu.platform import crypto
from kehu.platform.fields import reseal_query
from kehu.platform.records import registry
from kehu.platform.rekey import (
    TableResult,
    count_pending,
    encrypted_models,
    not_under_key_sql,
    rewrite,
    rotate_custom_values,
    to_current_key,
)

ENV_REFUSAL = (
    "The encryption key comes from KEHU_ENCRYPTION_KEY, so `--new` cannot replace it. Rotate it this way: "
    "1) add the new key to KEHU_ENCRYPTION_OLD_KEYS on every Kehu process and restart them; "
    "2) make it KEHU_ENCRYPTION_KEY and move the old key to KEHU_ENCRYPTION_OLD_KEYS, restart again; "
    "3) run `kehu rotate-keys` (without --new). Never delete an old key."
)


def plural(count: int, word: str, words: str = "") -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically (a temporary file in the same directory, fsynced,
    then renamed), readable by its owner only."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w", encoding="ascii") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def switch_to_new_key() -> tuple[str, str]:
    """Generate a new current key in the data directory and retire the current one; returns
    (old id, new id). The old key is written to ``encryption.old-keys`` before the new one
    replaces ``encryption.key``, so no key is lost whenever this stops."""
    ring = crypto.keyring(refresh=True)
    old = ring.current
    old_keys_path = crypto.old_keys_file()
    lines = old_keys_path.read_text(encoding="ascii").splitlines() if old_keys_path.exists() else []
    if old.secret not in (line.strip() for line in lines):
        lines.append(old.secret)
    write_private(old_keys_path, "\n".join(line for line in lines if line.strip()) + "\n")
    new_secret = crypto.generate_key()
    write_private(crypto.key_file(), new_secret + "\n")
    crypto.reset()
    new = crypto.keyring(refresh=True).current
    if new.secret != new_secret:
        raise CommandError(f"The new key was written to {crypto.key_file()} but is not the current key.")
    return old.id, new.id


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted value (phones, emails, …) under the current key and recompute the "
        "blind indexes, in batches, while Kehu keeps running. --new first generates a new key into the "
        "data directory and retires the old one to encryption.old-keys. Resumable: run it again after an "
        "interruption. Never delete old keys: the audit log keeps values encrypted under them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--new", action="store_true", help="Generate a new current key first (keys in the data directory)."
        )
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction (default 500).")
        parser.add_argument(
            "--max-batches", type=int, default=None, help="Stop after this many batches (run again to go on)."
        )
        parser.add_argument(
            "--grace",
            type=float,
            default=crypto.REFRESH_SECONDS * 2,
            help="Seconds to wait after --new so that running Kehu processes load the new key (default 2).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size, max_batches = options["batch_size"], options["max_batches"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if max_batches is not None and max_batches < 1:
            raise CommandError("--max-batches must be at least 1.")
        if options["new"]:
            if crypto.key_from_environment():
                raise CommandError(ENV_REFUSAL)
            old_id, new_id = switch_to_new_key()
            self.stdout.write(
                f"New key {new_id} is now current; key {old_id} moved to {crypto.old_keys_file()}. "
                "Back up encryption.key and encryption.old-keys together with the database."
            )
            if options["grace"] > 0:
                self.stdout.write(f"Waiting {options['grace']:g} s for running Kehu processes to load the new key…")
                time.sleep(options["grace"])
        try:
            ring = crypto.keyring(refresh=True)
        except crypto.KeyringError as error:
            raise CommandError(str(error)) from error
        current = ring.current.id
        retired = ", ".join(key.id for key in ring.retired) or "none"
        self.stdout.write(f"Current key: {current}; retired keys: {retired}.")

        results: list[TableResult] = []
        budget = max_batches
        for model in encrypted_models():
            if budget is not None and budget <= 0:
                break
            result = rewrite(
                model,
                transform=to_current_key,
                pending_sql=not_under_key_sql(current),
                batch_size=batch_size,
                max_batches=budget,
                progress=self._progress,
            )
            results.append(result)
            if budget is not None:
                budget -= result.batches
        custom_left = 0
        for rt in registry:  # phone and email custom field values (in each record's ``custom``)
            if budget is not None and budget <= 0:
                custom_left += 1  # not looked at: run again
                break
            result = rotate_custom_values(rt.model, batch_size=batch_size, max_batches=budget, progress=self._progress)
            if result.pending:
                results.append(result)
                custom_left += result.changed_meanwhile
            if budget is not None:
                budget -= result.batches
        left = sum(count_pending(model, not_under_key_sql(current)) for model in encrypted_models()) + custom_left
        stopped_early = bool(left) and budget is not None and budget <= 0
        stored = 0 if stopped_early else self._reseal_stored_answers_and_views()
        self._summary(results, stored, current, left, stopped_early)

    def _progress(self, result: TableResult) -> None:
        self.stdout.write(
            f"  {result.label}: {result.rows}/{result.pending} rows re-encrypted (batch {result.batches})"
        )

    def _reseal_stored_answers_and_views(self) -> int:
        """Idempotent API answers and saved views' sealed filters under the current key."""
        from kehu.platform.models import IdempotencyKey, SavedView

        current = crypto.keyring().current.id
        count = 0
        with transaction.atomic():
            answers = []
            for answer in IdempotencyKey.objects.select_for_update().only("pk", "body").iterator(chunk_size=500):
                if crypto.is_token(answer.body) and crypto.token_key_id(answer.body) != current:
                    answer.body = crypto.reencrypt(answer.body, purpose=crypto.IDEMPOTENCY_PURPOSE)
                    answers.append(answer)
            IdempotencyKey.objects.bulk_update(answers, ["body"], batch_size=500)
            views = []
            for view in SavedView.objects.select_for_update().filter(query__contains=crypto.TOKEN_PREFIX[:-1]):
                query = reseal_query(view.query)
                if query != view.query:
                    view.query = query
                    views.append(view)
            SavedView.objects.bulk_update(views, ["query"], batch_size=500)
            count = len(answers) + len(views)
        return count

    def _summary(self, results: list[TableResult], stored: int, current: str, left: int, stopped_early: bool) -> None:
        rows = sum(r.rows for r in results)
        values = sum(r.values for r in results)
        changed = sum(r.changed_meanwhile for r in results)
        failures = [(r.label, pk, name, error) for r in results for pk, name, error in r.failures]
        self.stdout.write(
            f"Done: {plural(values, 'value')} in {plural(rows, 'row')} re-encrypted under key {current}"
            + (
                f", and {plural(stored, 'stored API answer or saved view', 'stored API answers or saved views')}"
                if stored
                else ""
            )
            + "."
        )
        if changed:
            self.stdout.write(f"{plural(changed, 'row')} changed by users meanwhile left as they were.")
        if left:
            why = "stopped by --max-batches" if stopped_early else "written meanwhile or not decryptable"
            self.stdout.write(
                f"{plural(left, 'row')} still holding values under older keys ({why}): run kehu rotate-keys again."
            )
        else:
            self.stdout.write("Every encrypted value is under the current key.")
        self.stdout.write(
            "Audit entries keep values under the keys of their time: never delete a retired key, and back up "
            "encryption.key and encryption.old-keys with the database."
        )
        if failures:
            shown = "; ".join(f"{label} #{pk} {name}: {error}" for label, pk, name, error in failures[:5])
            raise CommandError(
                f"{plural(len(failures), 'value')} could not be decrypted and stayed as they were: {shown}"
            )
