"""``kehu export``: a list of records to a CSV, XLSX or vCard file, as a given user sees it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from kehu.dataio.exports import selectors, services
from kehu.dataio.exports.models import ExportFormat
from kehu.platform.context import Context, Source
from kehu.platform.errors import validation_message
from kehu.platform.records import registry
from kehu.platform.selectors import ListQuery


class Command(BaseCommand):
    help = (
        "Export the records of a type to CSV (UTF-8 with BOM), XLSX or vCard (contacts), with the "
        "list's filters, search, sort and columns, as USERNAME sees them (visibility and permissions "
        "apply; the export is audited). Prints the number of rows written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("type", help="Record type: " + ", ".join(rt.key for rt in registry) + ".")
        parser.add_argument("--user", required=True, help="Export as this user (their visibility applies).")
        parser.add_argument("--format", choices=ExportFormat.values, default=ExportFormat.CSV)
        parser.add_argument("--output", "-o", help="File to write (default: <plural>-<date>.<format> here).")
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="A list filter, as in the list URL (repeat for more): --filter grade=2 --filter tags=VIP.",
        )
        parser.add_argument("--q", default="", help="Search text, as in the list's search box.")
        parser.add_argument("--sort", default="", help="Sort column; prefix with - for descending.")
        parser.add_argument("--columns", default="", help="Comma-separated columns (default: the list's columns).")

    def handle(self, *args: Any, **options: Any) -> None:
        rt = registry.get(options["type"])
        if rt is None:
            raise CommandError(
                f"Unknown record type: {options['type']}. Choose from: {', '.join(rt.key for rt in registry)}."
            )
        try:
            user = get_user_model().objects.get(username=options["user"], is_active=True)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No active user named {options['user']}.") from None
        filters: dict[str, str] = {}
        for item in options["filter"]:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise CommandError(f"A filter is KEY=VALUE, not {item!r}.")
            key = key.strip()
            filters[key] = f"{filters[key]},{value}" if key in filters else value
        columns = [c.strip() for c in options["columns"].split(",") if c.strip()]
        fmt = options["format"]
        try:
            selectors.check_columns(rt, columns)
            selectors.check_filters(rt, user, filters)
            query = ListQuery(
                rt=rt,
                filters=filters,
                q=options["q"],
                ordering=options["sort"] or None,
                columns=columns or list(rt.list_columns),
            )
            output = Path(options["output"] or f"{rt.plural}-{timezone.localdate():%Y%m%d}.{fmt}")
            partial = output.with_name(f".{output.name}.part")  # a complete file or none
            try:
                count = services.export_write(Context(user=user, source=Source.CLI), query, fmt, partial)
                partial.replace(output)
            finally:
                partial.unlink(missing_ok=True)
        except ValidationError as error:
            raise CommandError(validation_message(error, " ")) from None
        except PermissionDenied as error:
            raise CommandError(str(error) or f"{user} may not view {rt.label_plural}.") from None
        except OSError as error:
            raise CommandError(f"Cannot write {options['output']}: {error.strerror}.") from None
        self.stdout.write(f"{count} {rt.plural} written to {output}")
        if output.suffix.lower() != f".{fmt}":
            sys.stderr.write(f"Note: the file is {fmt.upper()} whatever its name.\n")
