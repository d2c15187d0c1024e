"""``kehu bench generate``: fill an empty database with benchmark data at a scale."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kehu.bench.generate import PASSWORD, SCALES, Generator, Volumes
from kehu.platform import statistics
from kehu.platform.management.commands.run import pending_migrations


class Command(BaseCommand):
    help = (
        "Benchmark data: `kehu bench generate --scale small|medium|large` writes 10,000 / 100,000 / "
        "1,000,000 customers with proportional contacts (x2), interactions (x10), tasks, needs, "
        "opportunities, contracts, orders with lines and payments, over teams of salespeople, into the "
        "configured database (KEHU_DATA_DIR or KEHU_DATABASE_URL), which must hold no customers. "
        "The same --seed and --anchor give the same data. The suite that times it: `make bench`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        generate = sub.add_parser("generate", help="Write benchmark data into an empty database.")
        generate.add_argument("--scale", choices=sorted(SCALES), default="small", help="Size (default small).")
        generate.add_argument("--customers", type=int, help="Number of customers instead of a named scale.")
        generate.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        generate.add_argument(
            "--anchor", type=date.fromisoformat, help="The day the history ends, YYYY-MM-DD (default today)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from kehu.customers.models import Customer

        count = options["customers"] or SCALES[options["scale"]]
        if count < 10:
            raise CommandError("--customers must be at least 10.")
        if pending_migrations():
            call_command("migrate", verbosity=0)
        if Customer.all_objects.exists():
            raise CommandError(
                "The database already holds customers: benchmark data goes into an empty one "
                "(a new KEHU_DATA_DIR, or an empty PostgreSQL database in KEHU_DATABASE_URL)."
            )
        quiet = options["verbosity"] == 0
        generator = Generator(
            Volumes(count),
            seed=options["seed"],
            anchor=options["anchor"],
            progress=None if quiet else lambda message: self.stdout.write(f"  {message}"),
        )
        report = generator.run()
        seconds = statistics.refresh()  # as the nightly sweep would: the planner's measures
        if not quiet:
            self.stdout.write(f"  planner statistics: {seconds:.1f} s")
        self.stdout.write(
            f"Wrote {report.total_rows:,} rows for {count:,} customers in {report.total_seconds:.0f} s. "
            f"Users bench-admin, manager1…, rep1-1… have the password {PASSWORD}."
        )
