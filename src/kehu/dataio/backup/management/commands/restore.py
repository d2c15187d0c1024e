"""``kehu restore ARCHIVE``: put a backup back into an empty data directory / empty database,
then compare the restored database with the archive's manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kehu.dataio.backup.services import BackupError, backup_restore


class Command(BaseCommand):
    help = (
        "Restore a `kehu backup` archive into an empty data directory (SQLite) or an empty database "
        "(PostgreSQL): checks the archive, restores the database, media/ and the keys, compares row counts "
        "and checksums with the manifest and migrates an older archive's database. Stop Kehu first. "
        "--force (SQLite) moves an existing database and media/ aside first (renamed, never deleted)."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path, help="The kehu-backup-….tar.gz to restore.")
        parser.add_argument(
            "--force", action="store_true", help="SQLite: move an existing database and media/ aside first."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(line: str) -> None:
            if options["verbosity"]:
                self.stdout.write(line)

        try:
            report = backup_restore(options["archive"], force=options["force"], progress=progress)
        except BackupError as error:
            raise CommandError(str(error)) from error
        for path in report.moved_aside:
            self.stdout.write(f"moved aside (not deleted): {path}")
        if not report.ok:
            for problem in report.problems:
                self.stdout.write(f"  {problem}")
            raise CommandError(
                f"The restored database does not match the archive's manifest ({len(report.problems)} "
                "differences, listed above): do not use it; restore another archive."
            )
        if report.unreadable_keys:
            self.stderr.write(
                "WARNING: encrypted values under the key ids "
                f"{', '.join(report.unreadable_keys)} cannot be decrypted with the keys in place. Put the "
                "encryption key(s) you kept apart back (encryption.key / encryption.old-keys in the data "
                "directory, or KEHU_ENCRYPTION_KEY / KEHU_ENCRYPTION_OLD_KEYS) before starting Kehu."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {options['archive']} (made {report.manifest.get('created_at')})"
                + (", then migrated to this version" if report.migrated else "")
                + ". Start Kehu and check a login and a customer's phone."
            )
        )
