"""``kehu remind``: send every task reminder that is due now (the sweep the worker queues
when it starts); safe to run from cron next to the worker, a reminder never goes out twice."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kehu.automation.reminders import remind_due


class Command(BaseCommand):
    help = "Send the in-app notifications of every task reminder that is due and not sent yet."

    def handle(self, *args: Any, **options: Any) -> None:
        sent = remind_due()
        if options["verbosity"]:
            self.stdout.write(f"{sent} reminder(s) sent.")
