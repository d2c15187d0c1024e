"""``kehu quality [scan|report] [--type TYPE]``: check the stored phones and emails, then print
the data quality report."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kehu.dataio.quality import checks, services
from kehu.platform.records import registry


class Command(BaseCommand):
    help = (
        "Data quality: `scan` checks every stored phone number and email address (decrypting them, "
        "in batches) and then prints the report; `report` prints the report of the last scan with the "
        "live counts of missing required fields and inactive customers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", nargs="?", choices=["scan", "report"], default="report")
        parser.add_argument(
            "--type",
            action="append",
            dest="types",
            metavar="TYPE",
            help="Only this record type (repeat for more): " + ", ".join(rt.key for rt in registry) + ".",
        )
        parser.add_argument("--user", help="Count only the records this user may see (default: every record).")

    def handle(self, *args: Any, **options: Any) -> None:
        keys = list(dict.fromkeys(options["types"] or []))
        unknown = [key for key in keys if registry.get(key) is None]
        if unknown:
            raise CommandError(
                f"Unknown record type: {', '.join(unknown)}. Choose from: {', '.join(rt.key for rt in registry)}."
            )
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"No active user {options['user']!r}.")
        if options["action"] == "scan":
            for key in keys:
                if not checks.scan_fields(registry[key]):
                    self.stdout.write(f"{key}: no phone or email fields to check")
            for result in services.scan_types(keys or None):
                self.stdout.write(
                    f"{result.record_type}: {result.records} records checked in {result.seconds:.1f} s "
                    f"({result.rate:,.0f} records/s), {result.findings} invalid values"
                )
        try:
            reports = services.report(user, keys or None)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self._print(reports)

    def _print(self, reports: list[services.TypeReport]) -> None:
        rows = [(report.key, row.code, str(row.label), row.count, row.url) for report in reports for row in report.rows]
        header = ("TYPE", "CODE", "FINDING", "RECORDS", "LIST")
        widths = [max(len(str(line[i])) for line in [header, *rows]) for i in range(4)]
        self.stdout.write("  ".join(str(value).ljust(widths[i]) for i, value in enumerate(header[:4])) + "  LIST")
        for line in rows:
            cells = [
                str(value).rjust(widths[i]) if i == 3 else str(value).ljust(widths[i])
                for i, value in enumerate(line[:4])
            ]
            self.stdout.write("  ".join(cells) + f"  {line[4]}")
        scanned = [r for r in reports if r.scanned]
        for report in scanned:
            when = report.scanned_at.strftime("%Y-%m-%d %H:%M UTC") if report.scanned_at else "never"
            self.stdout.write(f"{report.key}: phones and emails last checked {when}")
