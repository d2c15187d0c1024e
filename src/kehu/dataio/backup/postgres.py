"""PostgreSQL for backups: connections from Django's settings, ``pg_dump`` and ``pg_restore``
with the password in ``PGPASSWORD`` (never on a command line), temporary databases."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ImproperlyConfigured

# Connection settings libpq understands, and the environment variables that carry them.
LIBPQ_OPTIONS = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "options": "PGOPTIONS",
    "application_name": "PGAPPNAME",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "passfile": "PGPASSFILE",
    "service": "PGSERVICE",
}


class ToolError(Exception):
    """pg_dump, pg_restore or psql missing or failing; the message says which and why."""


def connection_params(database: dict[str, Any], *, name: str | None = None) -> dict[str, Any]:
    """libpq keyword parameters of a Django ``DATABASES`` entry (``name`` overrides the database)."""
    params: dict[str, Any] = {"dbname": name or database.get("NAME") or "postgres"}
    for key, setting in (("user", "USER"), ("password", "PASSWORD"), ("host", "HOST"), ("port", "PORT")):
        if database.get(setting):
            params[key] = str(database[setting])
    for key, value in (database.get("OPTIONS") or {}).items():
        if key in LIBPQ_OPTIONS and value not in (None, ""):
            params[key] = str(value)
    return params


def tool_environment(database: dict[str, Any], *, name: str | None = None) -> dict[str, str]:
    """The environment for pg_dump/pg_restore: everything in PG* variables, the password in
    ``PGPASSWORD``, so that nothing secret shows in ``ps``."""
    params = connection_params(database, name=name)
    env = dict(os.environ)
    mapping = {"dbname": "PGDATABASE", "user": "PGUSER", "password": "PGPASSWORD", "host": "PGHOST", "port": "PGPORT"}
    mapping.update(LIBPQ_OPTIONS)
    for key, value in params.items():
        env[mapping[key]] = value
    return env


def connect(database: dict[str, Any], *, name: str | None = None, autocommit: bool = False) -> Any:
    import psycopg

    return psycopg.connect(autocommit=autocommit, **connection_params(database, name=name))


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolError(
            f"`{name}` is not installed or not on PATH: install the PostgreSQL client tools "
            f"(the same major version as the server or newer), e.g. `apt install postgresql-client`."
        )
    return path


def run_tool(args: list[str], env: dict[str, str]) -> None:
    completed = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if completed.returncode != 0:
        detail = (completed.stderr or completed.stdout).strip()
        raise ToolError(f"{os.path.basename(args[0])} failed (exit {completed.returncode}): {detail}")


def dump_command(path: str, snapshot: str | None) -> list[str]:
    args = [tool("pg_dump"), "--format=custom", "--no-password", f"--file={path}"]
    if snapshot:
        args.append(f"--snapshot={snapshot}")
    return args


def start_dump(database: dict[str, Any], path: str, snapshot: str | None) -> subprocess.Popen[str]:
    """Start pg_dump in the background (it reads the exported snapshot while the exporting
    transaction stays open)."""
    return subprocess.Popen(  # noqa: S603
        dump_command(path, snapshot),
        env=tool_environment(database),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish_dump(process: subprocess.Popen[str]) -> None:
    out, err = process.communicate()
    if process.returncode != 0:
        raise ToolError(f"pg_dump failed (exit {process.returncode}): {(err or out).strip()}")


def restore(database: dict[str, Any], path: str, *, name: str | None = None) -> None:
    """Restore a custom-format dump into an empty database, in one transaction, without the
    original owner and privileges (the configured user owns what it restores)."""
    target = name or str(database.get("NAME"))
    args = [
        tool("pg_restore"),
        "--no-password",
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        f"--dbname={target}",
        path,
    ]
    run_tool(args, tool_environment(database, name=target))


def user_tables(connection: Any) -> list[str]:
    cursor = connection.cursor()
    try:
        cursor.execute(
            "SELECT schemaname || '.' || tablename FROM pg_catalog.pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
        )
        return [row[0] for row in cursor.fetchall()]
    finally:
        cursor.close()


@contextmanager
def temporary_database(database: dict[str, Any], prefix: str = "kehu_verify_") -> Iterator[str]:
    """A new empty database (``kehu_verify_<random>``), dropped afterwards whatever happens."""
    from psycopg import sql

    if database.get("ENGINE") != "django.db.backends.postgresql":
        raise ImproperlyConfigured("not a PostgreSQL database")
    name = f"{prefix}{secrets.token_hex(6)}"
    import psycopg

    try:
        admin = connect(database, autocommit=True)
    except psycopg.OperationalError:  # the configured database may not exist yet: use the maintenance one
        admin = connect(database, name="postgres", autocommit=True)
    try:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield name
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    finally:
        admin.close()
