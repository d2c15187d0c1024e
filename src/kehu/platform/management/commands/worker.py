"""``kehu worker``: run queued background tasks."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kehu.platform import housekeeping


class Command(BaseCommand):
    help = (
        "Run background tasks (Django Tasks). By default tasks are queued in the database "
        "(KEHU_TASKS_BACKEND=db) and this command runs them with django-tasks-db's db_worker; "
        "run one or more next to `kehu run`. With KEHU_TASKS_BACKEND=immediate tasks run inline "
        "and no worker is needed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--queue-name",
            default="default",
            help="Queue(s) to work on, comma-separated, or * for all (default: default).",
        )
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds to wait when no task is ready (default 1)."
        )
        parser.add_argument("--batch", action="store_true", help="Run every task that is ready, then exit.")
        parser.add_argument("--max-tasks", type=int, default=0, help="Exit after this many tasks (0: no limit).")

    def handle(self, *args: Any, **options: Any) -> None:
        backend = settings.TASKS["default"]["BACKEND"]
        if backend != "django_tasks_db.DatabaseBackend":
            raise CommandError(
                f"Tasks do not go through the database (backend {backend}); `kehu worker` runs the "
                "database queue only. Set KEHU_TASKS_BACKEND=db or use the backend's own worker."
            )
        worker_options: dict[str, Any] = {
            "queue_name": options["queue_name"],
            "interval": options["interval"],
            "batch": options["batch"],
            "verbosity": options["verbosity"],
        }
        if options["max_tasks"]:
            worker_options["max_tasks"] = options["max_tasks"]
        housekeeping.enqueue_all()  # what fell due while no worker ran (reminders, contracts past their end)
        call_command("db_worker", **worker_options)
