# ruff: noqa: N999  (the command is `kehu import`; Django finds it by its module name)
"""``kehu import TYPE FILE``: import a CSV/TSV/TXT or XLSX file from the command line.

Exit status: 0 when the job finished and every row was imported, skipped or updated; 2 when it
finished but some rows were rejected (they are written to a CSV next to the file, or to
``--rejected``); 1 when it failed (the reason is printed; run the same command again to go on
from the last committed batch)."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from kehu.dataio.imports import engine, services
from kehu.dataio.imports.models import ImportJob, ImportStatus, MatchOn, OnDuplicate
from kehu.platform.context import Context, Source
from kehu.platform.records import registry

EXIT_REJECTED = 2


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Progress:
    """Rows, rows per second and the time left, on stderr: one line redrawn on a terminal,
    a plain line every few seconds otherwise."""

    def __init__(self, stream: Any, first: int = 0) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.started = time.monotonic()  # the run starts: the rate counts from here
        self.last = 0.0
        self.first = first  # rows already done when this run started (a resumed job)

    def __call__(self, job: ImportJob) -> None:
        now = time.monotonic()
        final = job.status != ImportStatus.RUNNING
        if not final and not self.tty and now - self.last < 5:
            return
        self.last = now
        done, total = job.processed_rows, job.total_rows or 0
        elapsed = max(now - self.started, 1e-6)
        rate = (done - self.first) / elapsed
        left = (total - done) / rate if rate > 0 and total else 0
        percent = f"{done * 100 / total:5.1f}%" if total else ""
        width = 30
        filled = int(width * done / total) if total else 0
        bar = f"[{'#' * filled}{'.' * (width - filled)}] " if self.tty else ""
        text = f"{bar}{percent} {done:,}/{total:,} rows  {rate:,.0f} rows/s  ETA {int(left) // 60}:{int(left) % 60:02d}"
        if self.tty:
            self.stream.write("\r" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


class Command(BaseCommand):
    help = (
        "Import records from a CSV, TSV, TXT or Excel (.xlsx) file: kehu import TYPE FILE. Columns are "
        "mapped from their headers (Chinese, English, Salesforce, HubSpot, Zoho and Kehu's own export) "
        "unless --mapping gives them. Rows are checked with the same rules as the forms and the API; "
        "rejected rows go to a CSV next to the file. Running the same command again after an "
        "interruption goes on where it stopped. Exit status: 0 all rows imported or skipped, "
        "2 some rows rejected, 1 failure."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        types = ", ".join(rt.key for rt in registry)
        parser.add_argument("type", metavar="TYPE", help=f"Record type (key or plural): {types}.")
        parser.add_argument("file", metavar="FILE", help="The CSV/TSV/TXT or XLSX file.")
        parser.add_argument(
            "--mapping",
            metavar="FILE.json",
            help='Column mapping as JSON: {"header": "field", ...} (field "" leaves a column out), or '
            '{"mapping": {...}, "match_on": [...], "on_duplicate": "..."}. Default: proposed from the headers.',
        )
        parser.add_argument(
            "--on-duplicate",
            choices=["skip", "fill", "update", "create"],
            help="What to do with a row that matches an existing record: skip it (default), fill the "
            "record's blank fields, update (overwrite) its fields, or create a new record anyway.",
        )
        parser.add_argument(
            "--match",
            metavar="KEYS",
            help="How duplicates are found, comma-separated: email, phone, number, name "
            "(default: the mapped ones among number, email, phone; customers also by name).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Check every row and count; write no record.")
        parser.add_argument(
            "--user", metavar="USERNAME", help="Import as this user (default: the first active administrator)."
        )
        parser.add_argument("--sheet", default="", metavar="NAME", help="The sheet of an XLSX file (default: first).")
        parser.add_argument(
            "--rejected", metavar="PATH", help="Where to write the rejected rows (default: FILE.rejected.csv)."
        )
        parser.add_argument("--day-first", action="store_true", help="Read 01/03/2026 as 1 March (default: 3 January).")

    def _user(self, username: str | None) -> Any:
        users = get_user_model()._default_manager.filter(is_active=True)
        if username:
            user = users.filter(username=username).first()
            if user is None:
                raise CommandError(f"No active user {username!r}.")
            return user
        user = users.filter(Q(is_superuser=True) | Q(role__key="admin")).order_by("pk").first()
        if user is None:
            raise CommandError("No active administrator: give --user USERNAME (run `kehu init` first).")
        return user

    def _read_mapping(self, path: str | None) -> dict[str, Any]:
        if not path:
            return {}
        try:
            loaded = json.loads(Path(path).read_text(encoding="utf-8-sig"))
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot read the mapping {path}: {error}") from None
        if not isinstance(loaded, dict):
            raise CommandError("The mapping file must hold a JSON object.")
        if "mapping" in loaded and isinstance(loaded["mapping"], dict):
            return loaded
        return {"mapping": loaded}

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            rt = services.record_type_for(options["type"])
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        user = self._user(options["user"])
        ctx = Context(user=user, source=Source.CLI)
        given = self._read_mapping(options["mapping"])
        match_on = options["match"].split(",") if options["match"] else given.get("match_on")
        if match_on is not None:
            match_on = [m.strip() for m in match_on if m.strip()]
            wrong = [m for m in match_on if m not in MatchOn.values]
            if wrong:
                raise CommandError(f"Unknown --match keys: {', '.join(wrong)} (use {', '.join(MatchOn.values)}).")
        on_duplicate = options["on_duplicate"] or given.get("on_duplicate")
        if on_duplicate is not None and on_duplicate not in OnDuplicate.values:
            raise CommandError(f"Unknown on_duplicate {on_duplicate!r}.")
        signature = {
            "mapping": given.get("mapping"),
            "match_on": match_on,
            "on_duplicate": on_duplicate,
            "dry_run": bool(options["dry_run"]),
            "sheet": options["sheet"],
            "day_first": bool(options["day_first"]),
        }
        job = services.find_resumable(user=user, record_type=rt.key, sha256=_sha256(path), options=signature)
        if job is not None:
            owner = job.options.get("process") or {}
            if (
                job.status == ImportStatus.RUNNING
                and owner.get("host") == socket.gethostname()
                and owner.get("pid") != os.getpid()
                and _alive(int(owner.get("pid") or 0))
            ):
                raise CommandError(f"Import #{job.pk} of this file is running in process {owner['pid']}.")
            self.stderr.write(f"Resuming import #{job.pk} after row {job.processed_rows:,} of {job.total_rows or 0:,}.")
        else:
            job = self._create(ctx, rt.key, path, options, given, match_on, on_duplicate, signature)
        job.options = {**job.options, "process": {"host": socket.gethostname(), "pid": os.getpid()}}
        job.dry_run = bool(options["dry_run"])
        job.status = ImportStatus.QUEUED
        job.save(update_fields=["options", "dry_run", "status"])
        mapped = {header: name for header, name in job.mapping.items() if name}
        self.stderr.write(
            f"Import #{job.pk}: {rt.key}, {len(mapped)} of {len(job.headers)} columns mapped "
            f"({', '.join(f'{h} → {n}' for h, n in mapped.items())}); duplicates by "
            f"{', '.join(job.match_on) or 'nothing'}: {job.on_duplicate}{'; dry run' if job.dry_run else ''}."
        )
        job = services.import_run(job, progress=Progress(self.stderr._out, job.processed_rows))
        self._report(job, path, options["rejected"])

    def _create(
        self,
        ctx: Context,
        record_type: str,
        path: Path,
        options: dict[str, Any],
        given: dict[str, Any],
        match_on: list[str] | None,
        on_duplicate: str | None,
        signature: dict[str, Any],
    ) -> ImportJob:
        try:
            with path.open("rb") as upload:
                job = services.import_create(
                    ctx=ctx, record_type=record_type, upload=upload, file_name=path.name, sheet=options["sheet"]
                )
            services.import_configure(
                ctx=ctx,
                job=job,
                mapping=given.get("mapping") or job.mapping,  # checked either way (required fields mapped)
                match_on=match_on,
                on_duplicate=on_duplicate,
                options={"cli": signature, "day_first": bool(options["day_first"])},
            )
        except PermissionDenied as error:
            raise CommandError(str(error)) from None
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                lines = [f"{key}: {' '.join(ValidationError(v).messages)}" for key, v in error.error_dict.items()]
            else:
                lines = list(error.messages)
            if "job" in locals():
                services.delete_job_files(job)
                job.delete()
            raise CommandError("The file cannot be imported:\n  " + "\n  ".join(lines)) from None
        return job

    def _report(self, job: ImportJob, path: Path, rejected_path: str | None) -> None:
        verb = "would be " if job.dry_run else ""
        self.stdout.write(
            f"Import #{job.pk} {job.get_status_display().lower()}: {job.processed_rows:,} of {job.total_rows or 0:,} "
            f"rows; {job.created_count:,} {verb}created, {job.updated_count:,} {verb}updated, "
            f"{job.skipped_count:,} skipped, {job.rejected_count:,} rejected."
        )
        for kind, reason, count in itertools_head(engine.reasons(job), 10):
            self.stdout.write(f"  {kind} {count:,}× {reason}")
        if job.rejected_count:
            target = Path(rejected_path) if rejected_path else path.with_name(path.stem + ".rejected.csv")
            with target.open("w", encoding="utf-8", newline="") as out:
                for line in services.rejected_rows_csv(job):
                    out.write(line)
            self.stdout.write(f"Rejected rows written to {target}.")
        if job.status == ImportStatus.FAILED:
            raise CommandError(job.error or "The import failed.")
        if job.status == ImportStatus.CANCELLED:
            raise CommandError("The import was cancelled; run the command again to go on.")
        if job.rejected_count:
            sys.stdout.flush()
            raise SystemExit(EXIT_REJECTED)


def itertools_head(items: Any, count: int) -> list[Any]:
    import itertools

    return list(itertools.islice(items, count))
