"""``kehu run``: serve Kehu with gunicorn (``--production`` for the production profile)."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from kehu.platform.processes import die_with_parent

# --production: workers = 2 × cores + 1 (gunicorn's rule of thumb), at most this many; a Django
# worker holds ~100 MB and a database connection, so a larger machine sets --workers itself.
MAX_DEFAULT_WORKERS = 8
# --production: a worker is replaced after this many requests (± the jitter, so that they are not
# all replaced at once), which bounds any slow growth of its memory.
MAX_REQUESTS = 1000
MAX_REQUESTS_JITTER = 100


def pending_migrations() -> int:
    connection = connections["default"]
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def cpu_count() -> int:
    """The CPUs this process may run on (a container's cpuset, else the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def production_workers() -> int:
    return min(2 * cpu_count() + 1, MAX_DEFAULT_WORKERS)


def heartbeat_dir() -> str | None:
    """The shared-memory file system when there is one: the worker heartbeat never waits on a disk."""
    shm = Path("/dev/shm")  # noqa: S108 - a RAM file system, not a shared temporary folder
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def collect_static() -> None:
    """Copy the static files into STATIC_ROOT with their gzip copies, and serve them from there.

    WhiteNoise then serves every file from disk with its compressed variant for clients that
    accept it, instead of looking them up in the package (which has no compressed copies).
    """
    try:
        call_command("collectstatic", interactive=False, verbosity=0)
    except OSError as error:
        raise CommandError(
            f"Cannot collect the static files into {settings.STATIC_ROOT} (KEHU_STATIC_ROOT): {error}"
        ) from error
    # Before the app (and so WhiteNoise's middleware) is loaded, in this process that gunicorn
    # forks its workers from: they all serve from STATIC_ROOT.
    settings.WHITENOISE_USE_FINDERS = False


def wants_background(options: dict[str, Any]) -> bool:
    """Does this ``kehu run`` start a task worker and a scheduler of its own? ``--worker`` /
    ``--no-worker`` say; by default yes, except with ``--production`` (whose task workers and
    scheduler are processes of their own, docs/operations.md) and when tasks run inline
    (``KEHU_TASKS_BACKEND=immediate``)."""
    from kehu.platform.management.commands.worker import DB_BACKEND, RQ_BACKEND

    wanted = options["worker"]
    if wanted is None:
        wanted = not options["production"]
    return bool(wanted) and settings.TASKS["default"]["BACKEND"] in {DB_BACKEND, RQ_BACKEND}


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """The child gets SIGTERM when ``kehu run`` dies, even by SIGKILL (Linux)."""
    die_with_parent(signal.SIGTERM)


def start_background() -> list[subprocess.Popen[bytes]]:
    """``kehu worker`` and ``kehu scheduler`` as child processes: the queued tasks (imports,
    exports, duplicate and quality scans, reminders, reindexing) and the housekeeping sweeps on
    their timetable run on a one-machine install started with ``kehu run`` alone."""
    return [
        subprocess.Popen(  # noqa: S603 - this Python running Kehu's own commands
            [sys.executable, "-c", "from kehu.cli import main; main()", command],
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        for command in ("worker", "scheduler")
    ]


def stop_background(processes: list[subprocess.Popen[bytes]], timeout: float = 30) -> None:
    """SIGTERM (the worker finishes its current task, an import its current batch), then
    SIGKILL after ``timeout`` seconds: an interrupted import goes on from its checkpoint."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.terminate()
    for process in running:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve(options: dict[str, Any]) -> None:
    """Run gunicorn in this process with ``kehu.wsgi:application``."""
    from gunicorn.app.base import BaseApplication

    class KehuApplication(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from kehu.wsgi import application

            return application

    KehuApplication(prog="kehu run").run()


def gunicorn_options(options: dict[str, Any]) -> dict[str, Any]:
    production = options["production"]
    workers = options["workers"] or (production_workers() if production else 2)
    max_requests = options["max_requests"]
    if max_requests is None:
        max_requests = MAX_REQUESTS if production else 0
    config: dict[str, Any] = {
        "bind": bind_address(options["host"], options["port"]),
        "workers": workers,
        "timeout": options["timeout"],
        "graceful_timeout": 30,
        "keepalive": 5,
        "reload": options["reload"],
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "kehu",
        # gunicornc's socket would default to one path per user ($HOME/.gunicorn), which several
        # Kehu servers on one machine would take from each other; signals control the server.
        "control_socket_disable": True,
        "max_requests": max_requests,
        "max_requests_jitter": MAX_REQUESTS_JITTER if max_requests else 0,
    }
    if production:
        # Load Django once in the master and fork: workers start at once and share its memory.
        config["preload_app"] = True
        if tmp_dir := heartbeat_dir():
            config["worker_tmp_dir"] = tmp_dir
    return config


class Command(BaseCommand):
    help = (
        "Serve Kehu with gunicorn on http://HOST:PORT/. Run `kehu init` (or `kehu demo`) first. "
        "Gunicorn writes no access log: Kehu itself logs one JSON line per request. "
        "Behind a TLS-terminating proxy set KEHU_HTTPS=1 (docs/operations.md). "
        "--production: refuses to start with KEHU_DEBUG on; collects the static files with gzip "
        "copies into STATIC_ROOT (KEHU_STATIC_ROOT, default DATA_DIR/static) and serves them from "
        "there; runs 2 × CPU cores + 1 workers (at most 8) unless --workers says otherwise; loads "
        "the app once before forking the workers; replaces each worker after about 1000 requests; "
        "keeps the workers' heartbeat files in /dev/shm when there is one. "
        "Without --production it also runs a task worker (`kehu worker`) for the queued "
        "background tasks and the scheduler (`kehu scheduler`) for the housekeeping sweeps, "
        "stopped with it, unless --no-worker is given; with --production those run as processes "
        "of their own, or add --worker."
    )
    requires_system_checks = []  # checked below, once, before forking workers

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1; 0.0.0.0 for all)."
        )
        parser.add_argument("--port", type=int, default=8000, help="Port to listen on (default 8000).")
        parser.add_argument(
            "--production",
            action="store_true",
            help="The production profile (see above): static files collected and compressed, more workers.",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help=(
                f"Gunicorn worker processes (default 2; with --production 2 × CPU cores + 1, "
                f"at most {MAX_DEFAULT_WORKERS}: {production_workers()} here)."
            ),
        )
        parser.add_argument(
            "--timeout", type=int, default=60, help="Seconds before a silent worker is restarted (default 60)."
        )
        parser.add_argument(
            "--max-requests",
            type=int,
            default=None,
            help=(
                f"Replace a worker after this many requests, ± {MAX_REQUESTS_JITTER} (default: "
                f"{MAX_REQUESTS} with --production, else never; 0: never)."
            ),
        )
        parser.add_argument(
            "--reload", action="store_true", help="Restart workers when the code changes (development only)."
        )
        parser.add_argument(
            "--worker",
            action=argparse.BooleanOptionalAction,
            default=None,
            help=(
                "Run a task worker (`kehu worker`) and the scheduler (`kehu scheduler`) beside the "
                "web workers (default: yes, no with --production; never when "
                "KEHU_TASKS_BACKEND=immediate)."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["workers"] is not None and options["workers"] < 1:
            raise CommandError("--workers must be at least 1.")
        if options["max_requests"] is not None and options["max_requests"] < 0:
            raise CommandError("--max-requests must be 0 or more.")
        if options["production"]:
            if settings.DEBUG:
                raise CommandError(
                    "--production refuses to run with KEHU_DEBUG on: debug pages show settings and "
                    "code to anyone. Unset KEHU_DEBUG."
                )
            if options["reload"]:
                raise CommandError("--reload is for development; it cannot be used with --production.")
        self.check(display_num_errors=False)
        try:
            pending = pending_migrations()
        except Exception as error:
            raise CommandError(f"Cannot reach the database: {error}") from error
        if pending:
            raise CommandError(f"The database has {pending} unapplied migration(s): run `kehu init` first.")
        if options["production"]:
            collect_static()
        else:
            # WhiteNoise serves from the package (finders) but warns when STATIC_ROOT is missing.
            Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
        connections.close_all()  # no connection may be shared with the forked workers
        config = gunicorn_options(options)
        host, port = options["host"], options["port"]
        shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104
        profile = " (production profile)" if options["production"] else ""
        background = start_background() if wants_background(options) else []
        tasks = ", a task worker and the scheduler" if background else ""
        self.stdout.write(
            f"Kehu is serving on http://{bind_address(shown, port)}/ with {config['workers']} "
            f"worker(s){profile}{tasks} (Ctrl+C to stop)"
        )
        self.stdout.flush()
        try:
            serve(config)
        finally:
            stop_background(background)
