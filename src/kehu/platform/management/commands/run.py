"""``kehu run``: serve Kehu with gunicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.db.migrations.executor import MigrationExecutor


def pending_migrations() -> int:
    connection = connections["default"]
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


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


class Command(BaseCommand):
    help = (
        "Serve Kehu with gunicorn on http://HOST:PORT/. Run `kehu init` (or `kehu demo`) first. "
        "Gunicorn writes no access log: Kehu itself logs one JSON line per request. "
        "Behind a TLS-terminating proxy set KEHU_HTTPS=1 (docs/operations.md)."
    )
    requires_system_checks = []  # checked below, once, before forking workers

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1; 0.0.0.0 for all)."
        )
        parser.add_argument("--port", type=int, default=8000, help="Port to listen on (default 8000).")
        parser.add_argument("--workers", type=int, default=2, help="Gunicorn worker processes (default 2).")
        parser.add_argument(
            "--timeout", type=int, default=60, help="Seconds before a silent worker is restarted (default 60)."
        )
        parser.add_argument(
            "--reload", action="store_true", help="Restart workers when the code changes (development only)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1.")
        self.check(display_num_errors=False)
        try:
            pending = pending_migrations()
        except Exception as error:
            raise CommandError(f"Cannot reach the database: {error}") from error
        if pending:
            raise CommandError(f"The database has {pending} unapplied migration(s): run `kehu init` first.")
        # WhiteNoise serves from the package (finders) but warns when STATIC_ROOT is missing.
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
        connections.close_all()  # no connection may be shared with the forked workers
        host, port = options["host"], options["port"]
        shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104
        self.stdout.write(f"Kehu is serving on http://{bind_address(shown, port)}/ (Ctrl+C to stop)")
        self.stdout.flush()
        serve(
            {
                "bind": bind_address(host, port),
                "workers": options["workers"],
                "timeout": options["timeout"],
                "graceful_timeout": 30,
                "keepalive": 5,
                "reload": options["reload"],
                "accesslog": None,
                "errorlog": "-",
                "loglevel": "warning",
                "proc_name": "kehu",
            }
        )
