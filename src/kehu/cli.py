"""The ``kehu`` command: Kehu's own commands plus every Django management command.

``kehu run``, ``kehu init``, ``kehu demo``, ``kehu createuser``, ``kehu token``, ``kehu worker`` and
``kehu rotate-keys`` (module ``rotate_keys``) are management commands of the Kehu apps; this entry
point only sets the settings module and hands the arguments to Django, so ``kehu migrate``,
``kehu shell``, ``kehu check --deploy`` and the rest work the same way.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

# (command, one-line summary); the order is the order of the overview.
KEHU_COMMANDS: list[tuple[str, str]] = [
    ("run", "Serve Kehu with gunicorn (--host, --port, --workers, --reload; --production for production)."),
    ("init", "Create or upgrade the database and the first admin user (idempotent)."),
    ("demo", "Run init and load bilingual demo data: teams, one user per role, ~200 customers."),
    ("createuser", "Create a user: kehu createuser USERNAME --role ROLE [--team TEAM] [--email EMAIL]."),
    ("token", "Manage API tokens: kehu token create USERNAME [--scopes read], token list, token revoke ID."),
    ("worker", "Run background tasks from the database queue, or from Redis with KEHU_TASKS_BACKEND=rq."),
    ("scheduler", "Queue the housekeeping sweeps on their timetable (one leader at a time; --list)."),
    ("remind", "Send the task reminders that are due now (the worker also does, on start and on time)."),
    ("housekeeping", "Run every catch-up sweep now: due reminders, contracts past their end date (cron-safe)."),
    ("rotate-keys", "Re-encrypt personal fields under a new key: kehu rotate-keys --new (resumable, online)."),
    ("reindex", "Rebuild the global search index: kehu reindex [--type customer] (online, in batches)."),
    ("import", "Import a CSV/XLSX file: kehu import customers FILE [--dry-run] [--on-duplicate fill] (resumable)."),
    ("export", "Export a list as a user sees it: kehu export TYPE --user NAME [--format xlsx] [--filter k=v]."),
    ("bench", "Benchmark data: kehu bench generate --scale small|medium|large (into an empty database)."),
    ("quality", "Data quality: kehu quality [scan|report] [--type customer] (invalid phones/emails, gaps, inactive)."),
    ("dedupe", "Duplicates: kehu dedupe scan|list [--type customer] [--min-score N], merge SURVIVOR LOSER, undo ID."),
    ("backup", "Back up database, files and keys into one archive: kehu backup [--keep N] [--no-keys] [--verify A]."),
    ("restore", "Restore a backup archive into an empty data directory / database: kehu restore ARCHIVE [--force]."),
]
# Kehu commands spelt with a hyphen; Django's module names use an underscore.
ALIASES = {"rotate-keys": "rotate_keys"}


def overview() -> str:
    width = max(len(name) for name, _summary in KEHU_COMMANDS)
    lines = [
        "Kehu (客户): an open-source, self-hosted CRM.",
        "",
        "Usage: kehu COMMAND [options]      kehu help COMMAND for a command's options",
        "",
        "Kehu commands:",
        *(f"  {name.ljust(width)}  {summary}" for name, summary in KEHU_COMMANDS),
        "",
        "Every Django management command is available too (migrate, shell, dbshell, check --deploy,",
        "changepassword, makemessages, …): `kehu help` lists them all.",
        "",
        "Configuration comes from the environment: KEHU_DATA_DIR (default ./var), KEHU_DATABASE_URL,",
        "KEHU_DEBUG, KEHU_ALLOWED_HOSTS, … (see README.md and docs/operations.md).",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"}:
        print(overview())
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    from django.core.management import execute_from_command_line

    args[0] = ALIASES.get(args[0], args[0])
    if args[0] == "help" and len(args) > 1:
        args[1] = ALIASES.get(args[1], args[1])

    try:
        execute_from_command_line(["kehu", *args])
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)


if __name__ == "__main__":
    main()
