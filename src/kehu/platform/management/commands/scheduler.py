"""``kehu scheduler``: queue the housekeeping sweeps on their timetable (one leader at a time)."""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kehu.platform import housekeeping
from kehu.platform.scheduler import DEFAULT_LEASE_SECONDS, Timetable


class Command(BaseCommand):
    help = (
        "Queue the housekeeping sweeps (due reminders, contracts past their end date, …) on their "
        "timetable for `kehu worker` to run. Run one per machine if you like: they agree through a "
        "lease in the database, and only the holder queues anything; another takes over within the "
        "lease's length when it stops. --list prints the timetable and exits."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--list", action="store_true", help="Print the sweeps and when they run, then exit.")
        parser.add_argument(
            "--lease-seconds",
            type=float,
            default=DEFAULT_LEASE_SECONDS,
            help=f"How long leadership lasts without renewal (default {DEFAULT_LEASE_SECONDS}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for name, schedule in sorted(housekeeping.schedules().items()):
                self.stdout.write(f"{name}: {schedule.describe()}")
            return
        timetable = Timetable(lease_seconds=options["lease_seconds"])
        scheduler = timetable.scheduler()

        def stop(signum: int, frame: Any) -> None:
            scheduler.shutdown(wait=False)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"kehu scheduler {timetable.holder}: {len(housekeeping.schedules())} sweeps", ending="\n")
        self.stdout.flush()
        try:
            scheduler.start()
        finally:
            timetable.stop()
