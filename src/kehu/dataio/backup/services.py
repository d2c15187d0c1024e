"""Backup, verify and restore of a Kehu installation: the database, the uploaded files and the
key material in one archive with a manifest of row counts and checksums.

- ``backup_create`` copies the database consistently while Kehu runs (SQLite's online backup
  API; PostgreSQL: ``pg_dump`` of a ``REPEATABLE READ`` snapshot that the checksums are read
  from too), adds ``media/`` and the key files, and writes the archive atomically.
- ``backup_verify`` checks every member's checksum, restores the database to a temporary place
  (a temporary file; a temporary PostgreSQL database) and compares row counts and checksums.
- ``backup_restore`` puts an archive back into an empty data directory / empty database.
- ``backup_prune`` and ``backup_sweep`` keep the newest N archives and make one when due.

Errors the operator can act on are raised as ``BackupError`` with a message saying what to do.
"""

from __future__ import annotations

import datetime
import fcntl
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from kehu.dataio.backup import checksums, postgres
from kehu.dataio.backup.archive import MANIFEST, ArchiveWriter, Extracted, archive_names, extract, files_under
from kehu.platform import audit as audit_log
from kehu.platform import crypto
from kehu.platform.context import Context, Source
from kehu.platform.models import AuditAction

FORMAT = "kehu-backup"
FORMAT_VERSION = 1
SQLITE_MEMBER = "database/kehu.sqlite3"
POSTGRES_MEMBER = "database/kehu.pgdump"
MEDIA_PREFIX = "media/"
KEYS_PREFIX = "keys/"
# Key files of the data directory and the variable that replaces each (settings.py, crypto.py).
KEY_FILES = {"secret.key": "KEHU_SECRET_KEY", crypto.KEY_FILE: "KEHU_ENCRYPTION_KEY", crypto.OLD_KEYS_FILE: ""}
LEFT_OUT = [
    "imports/ and exports/ (transient files of import and export jobs: run them again)",
    "backups/ (the archives themselves)",
    "tables without a model (the cache, the SQLite full-text search tables) are in the database copy "
    "but not checksummed (transient, or derived: `kehu reindex` rebuilds the search index)",
]

Progress = Callable[[str], None]


class BackupError(Exception):
    """A backup, verification or restore that cannot go on; the message says why and what to do."""


def _quiet(message: str) -> None:
    return None


# ------------------------------------------------------------------ settings


def backup_dir() -> Path:
    """``KEHU_BACKUP_DIR``, else ``<data dir>/backups``."""
    configured = getattr(settings, "KEHU_BACKUP_DIR", None) or os.environ.get("KEHU_BACKUP_DIR")
    return Path(configured).expanduser().resolve() if configured else Path(settings.DATA_DIR) / "backups"


def interval_hours() -> float:
    """Hours between scheduled backups (``KEHU_BACKUP_INTERVAL_HOURS``, default 24; 0 is off)."""
    value = getattr(settings, "KEHU_BACKUP_INTERVAL_HOURS", None)
    return float(value if value is not None else os.environ.get("KEHU_BACKUP_INTERVAL_HOURS", "24") or 0)


def keep_count() -> int:
    """How many archives the schedule keeps (``KEHU_BACKUP_KEEP``, default 7)."""
    value = getattr(settings, "KEHU_BACKUP_KEEP", None)
    return int(value if value is not None else os.environ.get("KEHU_BACKUP_KEEP", "7") or 7)


def database_settings() -> dict[str, Any]:
    return dict(connections["default"].settings_dict)


def vendor() -> str:
    return str(connections["default"].vendor)


def kehu_version() -> str:
    try:
        return metadata.version("kehu")
    except metadata.PackageNotFoundError:
        return "unknown"


def human_size(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _fsync_dir(path: Path) -> None:
    directory = os.open(path, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


# ------------------------------------------------------------------ backup


@dataclass
class BackupResult:
    path: Path
    size: int
    manifest: dict[str, Any]


@dataclass
class DatabaseCopy:
    member: str
    path: Path
    tables: dict[str, dict[str, Any]]
    migrations: list[list[str]]
    details: dict[str, Any]


def _sqlite_path() -> Path:
    return Path(str(database_settings()["NAME"]))


def _copy_sqlite(staging: Path, progress: Progress) -> DatabaseCopy:
    source_path = _sqlite_path()
    if not source_path.exists():
        raise BackupError(f"There is no database at {source_path}: run `kehu init` first.")
    target = staging / "kehu.sqlite3"
    source = sqlite3.connect(source_path, timeout=20)
    copy = sqlite3.connect(target)
    try:
        # One step: a read transaction over the whole copy, so it is consistent while Kehu writes
        # (WAL lets the writers go on meanwhile).
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file in the archive
        progress(f"database: SQLite copied with the online backup API ({human_size(target.stat().st_size)})")
        tables = checksums.database_checksums(copy, "sqlite")
        migrations = checksums.applied_migrations(copy)
        version = sqlite3.sqlite_version
    finally:
        copy.close()
        source.close()
    os.chmod(target, 0o600)
    return DatabaseCopy(SQLITE_MEMBER, target, tables, migrations, {"sqlite_version": version})


def _copy_postgres(staging: Path, progress: Progress) -> DatabaseCopy:
    import psycopg

    database = database_settings()
    target = staging / "kehu.pgdump"
    connection = postgres.connect(database)
    try:
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        row = connection.execute("SELECT pg_export_snapshot()").fetchone()
        snapshot = str(row[0])
        dump = postgres.start_dump(database, str(target), snapshot)
        try:
            # Same snapshot as the dump: the checksums describe exactly what pg_dump writes.
            tables = checksums.database_checksums(connection, "postgresql")
            migrations = checksums.applied_migrations(connection)
        finally:
            postgres.finish_dump(dump)
        server = connection.info.server_version
        connection.rollback()
    except postgres.ToolError as error:
        raise BackupError(str(error)) from error
    finally:
        connection.close()
    os.chmod(target, 0o600)
    progress(f"database: PostgreSQL dumped with pg_dump from one snapshot ({human_size(target.stat().st_size)})")
    details = {"server_version": server, "snapshot": "pg_dump --snapshot (checksums from the same snapshot)"}
    return DatabaseCopy(POSTGRES_MEMBER, target, tables, migrations, details)


def _archive_path(output: Path | None) -> Path:
    if output is not None and not output.is_dir() and output.suffix:
        return _private_dir(output.expanduser().resolve().parent) / output.name
    directory = _private_dir(output.expanduser().resolve() if output is not None else backup_dir())
    stamp = timezone.now().astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    path, n = directory / f"kehu-backup-{stamp}.tar.gz", 0
    while path.exists():
        n += 1
        path = directory / f"kehu-backup-{stamp}-{n}.tar.gz"
    return path


def backup_create(
    *,
    output: Path | None = None,
    include_keys: bool = True,
    source: str = Source.CLI,
    progress: Progress = _quiet,
) -> BackupResult:
    """Write one archive of the database, ``media/`` and the key files; answers its path, size
    and manifest and writes an audit entry. Raises ``BackupError`` (no database, pg_dump missing
    or failing, the output not writable)."""
    path = _archive_path(output)
    if path.exists():
        raise BackupError(f"{path} exists already: choose another --output.")
    staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=".kehu-backup-staging-"))
    writer: ArchiveWriter | None = None
    try:
        copy = _copy_postgres(staging, progress) if vendor() == "postgresql" else _copy_sqlite(staging, progress)
        rows = checksums.totals(copy.tables.values())
        progress(f"database: {len(copy.tables)} tables, {rows} rows checksummed")
        writer = ArchiveWriter(path)
        writer.add_file(copy.member, copy.path)
        media = list(files_under(Path(settings.MEDIA_ROOT)))
        media_bytes = sum(writer.add_file(MEDIA_PREFIX + name, file)["size"] for name, file in media)
        progress(f"media: {len(media)} files ({human_size(media_bytes)})")
        keys = _add_keys(writer, include_keys)
        for line in keys["messages"]:
            progress(line)
        created = timezone.now()
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": created.astimezone(datetime.UTC).isoformat(),
            "created_ts": int(created.timestamp()),
            "kehu_version": kehu_version(),
            "database": {"vendor": vendor(), "member": copy.member, **copy.details},
            "migrations": copy.migrations,
            "checksum_method": checksums.METHOD,
            "tables": copy.tables,
            "files": writer.files,
            "keys": {k: v for k, v in keys.items() if k != "messages"},
            "left_out": LEFT_OUT,
        }
        writer.close(manifest)
        writer = None
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    size = path.stat().st_size
    audit_log.audit(
        Context(user=AnonymousUser(), source=source),  # type: ignore[arg-type]
        AuditAction.BACKUP,
        extra={
            "operation": "backup",
            "archive": str(path),
            "size": size,
            "tables": len(copy.tables),
            "rows": rows,
            "keys_included": bool(keys["included"]),
        },
    )
    return BackupResult(path=path, size=size, manifest=manifest)


def _add_keys(writer: ArchiveWriter, include_keys: bool) -> dict[str, Any]:
    """Add the key files of the data directory; a key set in the environment cannot be in the
    archive, and the manifest and the output say so."""
    data = Path(settings.DATA_DIR)
    included: list[str] = []
    from_environment = [env for env in (*KEY_FILES.values(), "KEHU_ENCRYPTION_OLD_KEYS") if env and os.environ.get(env)]
    messages = []
    if include_keys:
        for name, env in KEY_FILES.items():
            if env and os.environ.get(env):
                continue
            if (data / name).is_file():
                writer.add_file(KEYS_PREFIX + name, data / name)
                included.append(name)
        messages.append(f"keys: {', '.join(included) or 'none'} included — keep this archive as safe as the keys")
    else:
        messages.append("keys: left out (--no-keys) — keep encryption.key and encryption.old-keys safe apart")
    if from_environment:
        messages.append(
            f"keys: {', '.join(from_environment)} come from the environment and cannot be in the archive — "
            "keep them safe yourself: without the encryption key the personal fields cannot be read"
        )
    return {
        "included": included,
        "left_out_by_option": not include_keys,
        "from_environment": from_environment,
        "messages": messages,
    }


# ------------------------------------------------------------------ verify


@dataclass
class VerifyReport:
    archive: Path
    manifest: dict[str, Any] | None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_manifest(manifest: dict[str, Any]) -> list[str]:
    if manifest.get("format") != FORMAT:
        return [f"{MANIFEST}: not a Kehu backup manifest"]
    if int(manifest.get("format_version", 0)) > FORMAT_VERSION:
        return [
            f"{MANIFEST}: archive format {manifest.get('format_version')} is newer than this Kehu reads "
            f"({FORMAT_VERSION}): upgrade Kehu first"
        ]
    return []


def sqlite_checksums(
    path: Path, specs: dict[str, dict[str, Any]] | None = None
) -> tuple[dict[str, dict[str, Any]], list[list[str]]]:
    """Table checksums and applied migrations of a SQLite file (opened read-only); ``specs``:
    the tables and columns of a manifest (see ``checksums.database_checksums``)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return checksums.database_checksums(connection, "sqlite", specs=specs), checksums.applied_migrations(connection)
    finally:
        connection.close()


def postgres_checksums(
    database: dict[str, Any], name: str, specs: dict[str, dict[str, Any]] | None = None
) -> tuple[dict[str, dict[str, Any]], list[list[str]]]:
    """Table checksums and applied migrations of the PostgreSQL database ``name`` on the server
    of ``database`` (a Django DATABASES entry), read in one snapshot."""
    import psycopg

    connection = postgres.connect(database, name=name)
    try:
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        result = (
            checksums.database_checksums(connection, "postgresql", specs=specs),
            checksums.applied_migrations(connection),
        )
        connection.rollback()
        return result
    finally:
        connection.close()


def _compare(manifest: dict[str, Any], tables: dict[str, Any], migrations: list[list[str]]) -> list[str]:
    problems = checksums.differences(manifest.get("tables", {}), tables)
    if [list(m) for m in manifest.get("migrations", [])] != migrations:
        problems.append("django_migrations: the applied migrations differ from the manifest")
    return problems


def backup_verify(archive: Path, *, progress: Progress = _quiet) -> VerifyReport:
    """Check every member against the manifest, restore the database to a temporary place and
    compare its row counts and checksums with the manifest. Never raises for a bad archive: the
    report lists every problem. Raises ``BackupError`` when it cannot check at all (a PostgreSQL
    archive without a PostgreSQL server configured)."""
    if not archive.is_file():
        raise BackupError(f"{archive}: no such file.")
    with tempfile.TemporaryDirectory(prefix="kehu-verify-") as scratch:
        extracted = extract(archive, Path(scratch))
        report = VerifyReport(archive=archive, manifest=extracted.manifest, problems=list(extracted.problems))
        manifest = extracted.manifest
        if manifest is None:
            return report
        report.problems.extend(_check_manifest(manifest))
        if not report.ok:
            return report
        progress(f"files: {len(manifest.get('files', {}))} members match their SHA-256")
        report.problems.extend(_verify_database(extracted, progress))
    return report


def _verify_database(extracted: Extracted, progress: Progress) -> list[str]:
    manifest = extracted.manifest or {}
    archived = manifest.get("database", {})
    member = archived.get("member", "")
    if archived.get("vendor") == "sqlite":
        tables, migrations = sqlite_checksums(extracted.path(member), manifest.get("tables"))
        progress("database: restored to a temporary file")
    else:
        database = database_settings()
        if database.get("ENGINE") != "django.db.backends.postgresql":
            raise BackupError(
                "This archive holds a PostgreSQL dump: verifying it restores it into a temporary database, "
                "so run `kehu backup --verify` with KEHU_DATABASE_URL pointing to a PostgreSQL server."
            )
        try:
            with postgres.temporary_database(database) as name:
                postgres.restore(database, str(extracted.path(member)), name=name)
                progress(f"database: restored into the temporary database {name} (dropped afterwards)")
                tables, migrations = postgres_checksums(database, name, manifest.get("tables"))
        except postgres.ToolError as error:
            return [f"{member}: pg_restore into a temporary database failed: {error}"]
    problems = _compare(manifest, tables, migrations)
    progress(f"database: {len(tables)} tables, {checksums.totals(tables.values())} rows compared")
    return problems


# ------------------------------------------------------------------ restore


@dataclass
class RestoreReport:
    archive: Path
    manifest: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    moved_aside: list[Path] = field(default_factory=list)
    migrated: bool = False
    unreadable_keys: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def unknown_migrations(migrations: list[list[str]]) -> list[str]:
    """Migrations the archive has applied that this code does not know (a newer Kehu)."""
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    return [f"{app}.{name}" for app, name in migrations if (app, name) not in known]


def _sqlite_is_empty(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return True
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return connection.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] == 0
    finally:
        connection.close()


def _aside(path: Path, stamp: str) -> Path:
    target = path.with_name(f"{path.name}.before-restore-{stamp}")
    os.replace(path, target)
    return target


def _check_env_key(extracted: Extracted) -> None:
    archived = extracted.path(KEYS_PREFIX + crypto.KEY_FILE)
    value = os.environ.get("KEHU_ENCRYPTION_KEY", "").strip()
    if value and archived.is_file() and archived.read_text(encoding="ascii").strip() != value:
        raise BackupError(
            "KEHU_ENCRYPTION_KEY is set in the environment to a different key than the archive's "
            f"{KEYS_PREFIX}{crypto.KEY_FILE}. The environment would win, and the restored personal fields "
            "(phones, emails) were encrypted with the archive's key, so they would not be readable. Either "
            "unset KEHU_ENCRYPTION_KEY (the restored key file is then used), or set it to the archive's key "
            f"(`tar -xzOf ARCHIVE {KEYS_PREFIX}{crypto.KEY_FILE}`) — then run the restore again."
        )


def backup_restore(archive: Path, *, force: bool = False, progress: Progress = _quiet) -> RestoreReport:
    """Restore an archive into an empty data directory / empty database: verify the archive's
    files, restore the database, ``media/`` and the keys, compare the restored database with
    the manifest, migrate an older archive's database. Raises ``BackupError`` before changing
    anything when the archive is damaged, from a newer Kehu or another database vendor, the
    target is not empty (SQLite: unless ``force``, which moves what is there aside), or
    ``KEHU_ENCRYPTION_KEY`` contradicts the archive's key."""
    if not archive.is_file():
        raise BackupError(f"{archive}: no such file.")
    data = Path(settings.DATA_DIR)
    staging = Path(tempfile.mkdtemp(dir=data, prefix=".kehu-restore-"))
    try:
        extracted = extract(archive, staging)
        manifest = extracted.manifest
        problems = list(extracted.problems) + (_check_manifest(manifest) if manifest else [])
        if problems or manifest is None:
            raise BackupError("The archive is damaged; nothing was restored:\n  " + "\n  ".join(problems))
        progress(f"archive: {len(manifest.get('files', {}))} members match their SHA-256")
        newer = unknown_migrations(manifest.get("migrations", []))
        if newer:
            raise BackupError(
                f"This archive comes from a newer Kehu ({manifest.get('kehu_version')}): its database has "
                f"migrations this version does not know ({', '.join(newer[:5])}{', …' if len(newer) > 5 else ''}). "
                "Install that Kehu version (or newer) and restore with it."
            )
        _check_env_key(extracted)
        archived_vendor = manifest.get("database", {}).get("vendor")
        if archived_vendor != vendor():
            raise BackupError(
                f"This archive holds a {archived_vendor} database and Kehu is configured for {vendor()}: "
                "restoring across database vendors (e.g. a SQLite archive into PostgreSQL) is not supported. "
                "Restore it with the same kind of database, then move the data with your own tools."
            )
        _refuse_non_empty_target(archived_vendor, force)
        stamp = timezone.now().astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        report = RestoreReport(archive=archive, manifest=manifest)
        if archived_vendor == "sqlite":
            _restore_sqlite(extracted, force, stamp, report, progress)
        else:
            _restore_postgres(extracted, progress)
        _restore_files(extracted, force, stamp, report, progress)
        crypto.reset()
        connections.close_all()
        report.problems.extend(_compare_restored(manifest, progress))
        if report.problems:
            return report
        report.unreadable_keys = _unreadable_key_ids()
        pending = _pending_migrations()
        if pending and report.unreadable_keys:
            # Migrations may rewrite encrypted values: not with a key missing.
            progress(
                f"migrations: the archive is from an older Kehu ({len(pending)} migrations to apply); run "
                "`kehu migrate` once the missing keys are back"
            )
        elif pending:
            progress(f"migrations: the archive is from an older Kehu, applying {len(pending)} migrations")
            call_command("migrate", interactive=False, verbosity=0)
            report.migrated = True
        # No audit entry here: the restored database stays exactly the archived one (a backup of
        # it has the same checksums as the archive).
        return report
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _refuse_non_empty_target(archived_vendor: str, force: bool) -> None:
    """Raise unless the database and ``media/`` are empty (SQLite with ``force``: they will be
    moved aside; a PostgreSQL database is never emptied by Kehu)."""
    if archived_vendor == "sqlite":
        target = _sqlite_path()
        if not force and not _sqlite_is_empty(target):
            raise BackupError(
                f"{target} holds a database already: restore only into an empty data directory (a new "
                "KEHU_DATA_DIR), or pass --force to move the existing database aside first (it is renamed, "
                "never deleted)."
            )
    else:
        database = database_settings()
        connections.close_all()
        connection = postgres.connect(database, autocommit=True)
        try:
            tables = postgres.user_tables(connection)
        finally:
            connection.close()
        if tables:
            raise BackupError(
                f"The database {database.get('NAME')} is not empty ({len(tables)} tables): restore only into an "
                "empty database. Create a new one (`createdb -O USER NAME`) and point KEHU_DATABASE_URL to it, or "
                "drop and recreate this one yourself once you are sure. (--force applies to SQLite only: Kehu "
                "never drops a PostgreSQL database.)"
            )
    media_root = Path(settings.MEDIA_ROOT)
    if not force and any(True for _ in files_under(media_root)):
        raise BackupError(
            f"{media_root} holds files already: restore only into an empty data directory, or pass --force "
            "to move the existing folder aside first (renamed, never deleted)."
        )


def _restore_sqlite(extracted: Extracted, force: bool, stamp: str, report: RestoreReport, progress: Progress) -> None:
    target = _sqlite_path()
    connections.close_all()
    empty = _sqlite_is_empty(target)
    for suffix in ("", "-wal", "-shm", "-journal"):
        existing = Path(f"{target}{suffix}")
        if not existing.exists():
            continue
        if empty:
            existing.unlink()  # a database without tables: nothing to keep
        else:
            # The WAL keeps its database's new name plus -wal, so nothing committed is lost.
            moved = Path(f"{target}.before-restore-{stamp}{suffix}")
            os.replace(existing, moved)
            report.moved_aside.append(moved)
    copy = extracted.path(SQLITE_MEMBER)
    os.chmod(copy, 0o600)
    os.replace(copy, target)
    _fsync_dir(target.parent)
    progress(f"database: restored to {target}")


def _restore_postgres(extracted: Extracted, progress: Progress) -> None:
    database = database_settings()
    connections.close_all()
    try:
        postgres.restore(database, str(extracted.path(POSTGRES_MEMBER)))
    except postgres.ToolError as error:
        raise BackupError(f"Restoring the database failed (it was rolled back): {error}") from error
    progress(f"database: restored into {database.get('NAME')} with pg_restore")


def _restore_files(extracted: Extracted, force: bool, stamp: str, report: RestoreReport, progress: Progress) -> None:
    manifest = extracted.manifest or {}
    data = Path(settings.DATA_DIR)
    media_root = Path(settings.MEDIA_ROOT)
    names = sorted(manifest.get("files", {}))
    media = [name for name in names if name.startswith(MEDIA_PREFIX)]
    if any(True for _ in files_under(media_root)):  # only with --force (checked before anything changed)
        report.moved_aside.append(_aside(media_root, stamp))
    for name in media:
        target = media_root / name[len(MEDIA_PREFIX) :]
        _private_dir(target.parent)
        os.replace(extracted.path(name), target)
    progress(f"media: {len(media)} files restored to {media_root}")
    restored = []
    for name in names:
        if not name.startswith(KEYS_PREFIX):
            continue
        key_name = name[len(KEYS_PREFIX) :]
        if key_name not in KEY_FILES:
            continue
        source, target = extracted.path(name), data / key_name
        if target.exists():
            if target.read_bytes() == source.read_bytes():
                restored.append(key_name)
                continue
            # A key file generated when this empty data directory was first used: kept, renamed.
            report.moved_aside.append(_aside(target, stamp))
        os.chmod(source, 0o600)
        os.replace(source, target)
        restored.append(key_name)
    _fsync_dir(data)
    keys = manifest.get("keys", {})
    if restored:
        progress(f"keys: {', '.join(restored)} restored")
    else:
        progress("keys: the archive holds no key files — put back the keys you kept apart (see docs/operations.md)")
    if keys.get("from_environment"):
        progress(f"keys: the backed-up installation took {', '.join(keys['from_environment'])} from the environment")


def _compare_restored(manifest: dict[str, Any], progress: Progress) -> list[str]:
    if manifest["database"]["vendor"] == "sqlite":
        tables, migrations = sqlite_checksums(_sqlite_path(), manifest.get("tables"))
    else:
        database = database_settings()
        tables, migrations = postgres_checksums(database, str(database["NAME"]), manifest.get("tables"))
    problems = _compare(manifest, tables, migrations)
    if not problems:
        progress(f"verify: {len(tables)} tables, {checksums.totals(tables.values())} rows match the manifest")
    return problems


def _pending_migrations() -> list[tuple[str, str]]:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections["default"])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [(migration.app_label, migration.name) for migration, _backwards in plan]


def _unreadable_key_ids() -> list[str]:
    """Key ids the stored encrypted values name that the keyring in place does not hold, or
    whose sample value does not decrypt (a sample per column and key: cheap, and enough to tell
    a missing or wrong key)."""
    from kehu.platform.fields import encrypted_fields
    from kehu.platform.rekey import encrypted_models

    ring = crypto.keyring(refresh=True)
    bad: set[str] = set()
    checked: set[tuple[str, str]] = set()
    connection = connections["default"]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in encrypted_models():
            for enc_field in encrypted_fields(model):
                column, table = quote(enc_field.column), quote(model._meta.db_table)
                # Raw SQL: the field itself would decrypt (and fail) on reading.
                cursor.execute(
                    f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL AND {column} <> '' LIMIT 200"  # noqa: S608
                )
                for (token,) in cursor.fetchall():
                    key_id = crypto.token_key_id(token)
                    if key_id is None or (enc_field.column, key_id) in checked:
                        continue
                    checked.add((enc_field.column, key_id))
                    if ring.get(key_id) is None:
                        bad.add(key_id)
                        continue
                    try:
                        crypto.decrypt(token, purpose=enc_field.purpose)
                    except Exception:  # any failure means: not readable with these keys
                        bad.add(key_id)
    return sorted(bad)


# ------------------------------------------------------------------ retention and schedule


def backup_prune(keep: int, directory: Path | None = None) -> list[Path]:
    """Delete the archives beyond the newest ``keep`` in ``directory`` (only files named like
    ``kehu-backup-<stamp>.tar.gz``); answers what was deleted. Raises ``BackupError`` for keep < 1."""
    if keep < 1:
        raise BackupError("--keep must be at least 1.")
    archives = archive_names(directory or backup_dir())
    removed = archives[: max(len(archives) - keep, 0)]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def newest_backup_time(directory: Path | None = None) -> datetime.datetime | None:
    archives = archive_names(directory or backup_dir())
    if not archives:
        return None
    stamp = archives[-1].name[len("kehu-backup-") :][:16]
    return datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)


def backup_sweep(now: datetime.datetime | None = None) -> str:
    """Make a backup when the newest archive is older than the interval, then keep the newest
    ``KEHU_BACKUP_KEEP``; answers what it did (for ``kehu housekeeping``). Several workers
    starting at once make one backup: the first takes a lock file, the others skip."""
    hours = interval_hours()
    if hours <= 0:
        return "scheduled backups are off (KEHU_BACKUP_INTERVAL_HOURS=0)"
    directory = _private_dir(backup_dir())
    with (directory / ".kehu-backup.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return "another scheduled backup is running"
        now = now or timezone.now()
        newest = newest_backup_time(directory)
        if newest is not None and now - newest < datetime.timedelta(hours=hours):
            return f"not due (newest backup {newest:%Y-%m-%d %H:%M} UTC, every {hours:g} h)"
        result = backup_create(output=directory, source=Source.SYSTEM)
        removed = backup_prune(keep_count(), directory)
    return f"made {result.path.name} ({human_size(result.size)}); removed {len(removed)} old archives"
