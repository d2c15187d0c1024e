"""``kehu worker``: run queued background tasks (database queue, or RQ on Redis)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kehu.platform import housekeeping

DB_BACKEND = "django_tasks_db.DatabaseBackend"
RQ_BACKEND = "django_tasks_rq.RQBackend"


def rq_queue_names(queue_name: str) -> list[str]:
    """The RQ queues for ``--queue-name`` (comma-separated, or * for every configured queue)."""
    configured = list(settings.RQ_QUEUES)
    if queue_name.strip() == "*":
        return configured
    names = [name.strip() for name in queue_name.split(",") if name.strip()]
    unknown = [name for name in names if name not in configured]
    if unknown:
        raise CommandError(f"Unknown queue(s) {', '.join(unknown)}; configured: {', '.join(configured)}.")
    return names


class Command(BaseCommand):
    help = (
        "Run background tasks (Django Tasks). By default tasks are queued in the database "
        "(KEHU_TASKS_BACKEND=db) and this command runs them with django-tasks-db's db_worker. "
        "With KEHU_TASKS_BACKEND=rq they are queued in Redis (KEHU_REDIS_URL) and this command "
        "runs an RQ worker (django-rq's rqworker, with its scheduler for tasks that run later). "
        "Run one or more next to `kehu run`. With KEHU_TASKS_BACKEND=immediate tasks run inline "
        "and no worker is needed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--queue-name",
            default="default",
            help="Queue(s) to work on, comma-separated, or * for all (default: default).",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="Seconds to wait when no task is ready (default 1; database queue only: RQ waits on Redis).",
        )
        parser.add_argument("--batch", action="store_true", help="Run every task that is ready, then exit.")
        parser.add_argument("--max-tasks", type=int, default=0, help="Exit after this many tasks (0: no limit).")

    def handle(self, *args: Any, **options: Any) -> None:
        backend = settings.TASKS["default"]["BACKEND"]
        if backend not in {DB_BACKEND, RQ_BACKEND}:
            raise CommandError(
                f"Tasks go neither through the database nor through Redis (backend {backend}); "
                "`kehu worker` runs those two queues only. Set KEHU_TASKS_BACKEND=db (or rq with "
                "KEHU_REDIS_URL), or use the backend's own worker."
            )
        if options["max_tasks"] < 0:
            raise CommandError("--max-tasks must be 0 or more.")
        if backend == RQ_BACKEND:
            queues = rq_queue_names(options["queue_name"])
        housekeeping.enqueue_all()  # what fell due while no worker ran (reminders, contracts past their end)
        if backend == RQ_BACKEND:
            call_command(
                "rqworker",
                *queues,
                job_class="django_tasks_rq.Job",  # runs the Django Task the job names
                burst=options["batch"],
                with_scheduler=True,  # moves tasks enqueued with run_after (reminders) to the queue when due
                max_jobs=options["max_tasks"] or None,
                verbosity=options["verbosity"],
            )
            return
        worker_options: dict[str, Any] = {
            "queue_name": options["queue_name"],
            "interval": options["interval"],
            "batch": options["batch"],
            "verbosity": options["verbosity"],
        }
        if options["max_tasks"]:
            worker_options["max_tasks"] = options["max_tasks"]
        call_command("db_worker", **worker_options)
