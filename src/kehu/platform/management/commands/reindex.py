"""``kehu reindex``: rebuild the global search index."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kehu.platform import search
from kehu.platform.records import registry


class Command(BaseCommand):
    help = (
        "Rebuild the global search index from the records, in batches (search keeps answering "
        "meanwhile). Needed after a restore from a backup made with other tools, or when records "
        "were changed in the database directly; the index otherwise follows every change."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--type",
            action="append",
            dest="types",
            metavar="TYPE",
            help="Only this record type (repeat for more): " + ", ".join(rt.key for rt in registry) + ".",
        )
        parser.add_argument(
            "--batch-size", type=int, default=2000, help="Records read and written per transaction (default 2000)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        keys = options["types"] or [rt.key for rt in registry]
        unknown = [key for key in keys if registry.get(key) is None]
        if unknown:
            raise CommandError(
                f"Unknown record type: {', '.join(unknown)}. Choose from: {', '.join(rt.key for rt in registry)}."
            )
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        total_rows, total_seconds = 0, 0.0
        for key in dict.fromkeys(keys):
            report = search.rebuild(registry[key], batch_size=options["batch_size"])
            total_rows += report.rows
            total_seconds += report.seconds
            self.stdout.write(
                f"{key}: {report.rows} records indexed in {report.seconds:.1f} s ({report.rows_per_second:,.0f} rows/s)"
            )
        search.optimize()
        self.stdout.write(self.style.SUCCESS(f"Search index rebuilt: {total_rows} records in {total_seconds:.1f} s."))
