"""``kehu backup``: one archive of the database, the uploaded files and the keys, with a
manifest of row counts and checksums; ``--verify ARCHIVE`` checks one; ``--keep N`` prunes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kehu.dataio.backup.services import (
    BackupError,
    backup_create,
    backup_dir,
    backup_prune,
    backup_verify,
    human_size,
)


class Command(BaseCommand):
    help = (
        "Back up Kehu into one archive kehu-backup-<UTC stamp>.tar.gz (in KEHU_BACKUP_DIR, default "
        "<data dir>/backups): the database (SQLite online backup, or pg_dump), media/ and the key files, "
        "with a manifest of row counts and checksums. Safe while Kehu runs. --verify ARCHIVE restores an "
        "archive to a temporary place and compares; --keep N deletes all but the newest N archives."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, help="A directory for the archive, or the archive's file name.")
        parser.add_argument("--keep", type=int, help="Afterwards delete all but the newest N archives there.")
        parser.add_argument(
            "--no-keys", action="store_true", help="Leave the key files out (keep them safe apart, then)."
        )
        parser.add_argument("--verify", type=Path, metavar="ARCHIVE", help="Verify ARCHIVE instead of backing up.")

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(line: str) -> None:
            if options["verbosity"]:
                self.stdout.write(line)

        try:
            if options["verify"] is not None:
                self.verify(options["verify"], progress)
                return
            if options["keep"] is not None and options["keep"] < 1:
                raise CommandError("--keep must be at least 1.")
            result = backup_create(output=options["output"], include_keys=not options["no_keys"], progress=progress)
            if options["keep"] is not None:
                for path in backup_prune(options["keep"], result.path.parent):
                    progress(f"removed {path.name} (--keep {options['keep']})")
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"Backup written: {result.path} ({human_size(result.size)})"))

    def verify(self, archive: Path, progress: Any) -> None:
        if not archive.exists() and not archive.is_absolute() and (backup_dir() / archive).exists():
            archive = backup_dir() / archive
        report = backup_verify(archive, progress=progress)
        if report.ok:
            self.stdout.write(self.style.SUCCESS(f"OK: {archive}"))
            return
        for problem in report.problems:
            self.stdout.write(f"  {problem}")
        raise CommandError(f"{archive} FAILED verification: {len(report.problems)} problems (listed above).")
