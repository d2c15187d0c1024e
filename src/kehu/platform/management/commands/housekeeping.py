"""``kehu housekeeping``: run every catch-up sweep now (task reminders that are due,
contracts past their end date, …), the same ones ``kehu worker`` queues when it starts."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kehu.platform import housekeeping


class Command(BaseCommand):
    help = (
        "Run every housekeeping sweep now: send due task reminders, expire contracts past their end "
        "date. Safe to run from cron next to the workers: each sweep does its work once."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        for name, result in housekeeping.run_all().items():
            if options["verbosity"]:
                self.stdout.write(f"{name}: {result}")
