"""``kehu backup`` / ``kehu backup --verify`` / ``kehu restore`` driven as an operator would, in
subprocesses against a data directory of their own (and a throwaway PostgreSQL database when
KEHU_TEST_DATABASE_URL points to PostgreSQL): a populated demo installation with a contract
attachment and encrypted phones is backed up, wiped, restored and verified, and comes back with
the same row counts and checksums, the same files and a phone that still decrypts."""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.test import override_settings

from kehu.dataio.backup.archive import MANIFEST, NAME_RE
from kehu.dataio.backup.services import (
    BackupError,
    backup_restore,
    backup_verify,
    postgres_checksums,
    sqlite_checksums,
)
from kehu.settings import database_config

PG_URL = os.environ.get("KEHU_TEST_DATABASE_URL", "")
ON_POSTGRES = PG_URL.startswith(("postgres://", "postgresql://"))
VENDORS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(not ON_POSTGRES, reason="KEHU_TEST_DATABASE_URL does not point to PostgreSQL"),
    ),
]
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PHONE = "+8613800138000"

POPULATE = f"""
from django.core.files.uploadedfile import SimpleUploadedFile
from kehu.accounts.models import User
from kehu.customers.models import Customer
from kehu.customers.records import CUSTOMER
from kehu.platform import services
from kehu.platform.context import Context, Source
from kehu.sales.contracts.models import Contract
from kehu.sales.contracts.services import contract_add_attachment
ctx = Context(user=User.objects.get(username="admin"), source=Source.CLI)
contract = Contract.objects.order_by("pk").first()
attachment = contract_add_attachment(ctx, contract, SimpleUploadedFile("signed.pdf", {PDF!r}, "application/pdf"))
customer = Customer.objects.order_by("pk").first()
services.record_update(CUSTOMER, ctx=ctx, obj=customer, data={{"phone": "138 0013 8000"}})
print("ATTACHMENT", attachment.file.name)
print("CUSTOMER", customer.pk)
"""

READ_PHONE = """
from kehu.customers.models import Customer
print("PHONE", Customer.objects.get(pk={pk}).phone)
"""


def kehu(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [sys.executable, "-m", "kehu.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if check and completed.returncode != 0:
        raise AssertionError(f"kehu {' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}")
    return completed


def output(completed: subprocess.CompletedProcess[str]) -> str:
    return completed.stdout + completed.stderr


def base_env(data_dir: Path, database_url: str = "") -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KEHU_", "DJANGO_", "PG")) and k not in {"PYTEST_CURRENT_TEST"}
    }
    env.update({"KEHU_DATA_DIR": str(data_dir), "KEHU_TASKS_BACKEND": "immediate", "KEHU_LOG_LEVEL": "WARNING"})
    if database_url:
        env["KEHU_DATABASE_URL"] = database_url
    return env


def pg_admin(sql: str) -> None:
    import psycopg

    parts = urlsplit(PG_URL)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as connection:
        connection.execute(sql)


def pg_url(name: str) -> str:
    return urlunsplit(urlsplit(PG_URL)._replace(path=f"/{name}"))


@dataclass
class Installation:
    vendor: str
    data_dir: Path
    env: dict[str, str]
    database: str
    archive: Path  # a copy kept outside the data directory
    manifest: dict[str, Any]
    attachment: str
    customer: int
    keys: dict[str, bytes]

    def wipe(self) -> None:
        """Delete the data directory and, on PostgreSQL, drop and recreate the database."""
        shutil.rmtree(self.data_dir)
        if self.vendor == "postgresql":
            pg_admin(f'DROP DATABASE "{self.database}" WITH (FORCE)')
            pg_admin(f'CREATE DATABASE "{self.database}"')


def read_manifest(archive: Path) -> dict[str, Any]:
    with tarfile.open(archive, "r:gz") as tar:
        member = tar.extractfile(MANIFEST)
        assert member is not None
        return json.loads(member.read())


@pytest.fixture(scope="module", params=VENDORS)
def installation(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installation]:
    vendor = request.param
    root = tmp_path_factory.mktemp(f"backup-{vendor}")
    data_dir = root / "data"
    database = ""
    if vendor == "postgresql":
        database = f"kehu_bk_{secrets.token_hex(5)}"
        pg_admin(f'CREATE DATABASE "{database}"')
    env = base_env(data_dir, pg_url(database) if database else "")
    try:
        kehu("demo", "--customers", "8", "--seed", "3", "--password", "Backup-test-2026", env=env)
        lines = dict(
            line.split(" ", 1) for line in kehu("shell", "-c", POPULATE, env=env).stdout.splitlines() if " " in line
        )
        done = kehu("backup", env=env)
        archives = sorted((data_dir / "backups").glob("kehu-backup-*.tar.gz"))
        assert len(archives) == 1
        assert f"Backup written: {archives[0]}" in done.stdout
        kept = root / archives[0].name
        shutil.copy2(archives[0], kept)
        keys = {name: (data_dir / name).read_bytes() for name in ("secret.key", "encryption.key")}
        yield Installation(
            vendor=vendor,
            data_dir=data_dir,
            env=env,
            database=database,
            archive=kept,
            manifest=read_manifest(kept),
            attachment=lines["ATTACHMENT"].strip(),
            customer=int(lines["CUSTOMER"]),
            keys=keys,
        )
    finally:
        if database:
            pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def sqlite_only(installation: Installation) -> None:
    if installation.vendor != "sqlite":
        pytest.skip("vendor-independent: checked before any database is touched, once is enough")


@pytest.fixture(scope="module")
def restored(installation: Installation) -> Installation:
    """The installation wiped and restored from its archive."""
    installation.wipe()
    done = kehu("restore", str(installation.archive), env=installation.env)
    assert "match the manifest" in done.stdout
    return installation


def test_the_archive_holds_database_media_keys_and_a_manifest_and_is_private(installation: Installation) -> None:
    manifest = installation.manifest
    original = next((installation.data_dir / "backups").glob("kehu-backup-*.tar.gz"))
    assert NAME_RE.match(original.name)
    assert stat.S_IMODE(original.stat().st_mode) == 0o600
    assert manifest["format_version"] == 1
    assert manifest["database"]["vendor"] == installation.vendor
    assert ["customers", "0001_initial"] in manifest["migrations"]
    assert manifest["tables"]["customers_customer"]["rows"] == 8
    assert manifest["tables"]["contracts_contractattachment"]["rows"] == 1
    assert all(len(table["sha256"]) == 64 for table in manifest["tables"].values())
    files = manifest["files"]
    assert f"media/{installation.attachment}" in files
    assert {"keys/secret.key", "keys/encryption.key"} <= set(files)
    assert manifest["database"]["member"] in files


def restored_checksums(installation: Installation) -> tuple[dict[str, Any], list[list[str]]]:
    """Row counts, checksums and migrations of the installation's database as it is now."""
    if installation.vendor == "sqlite":
        return sqlite_checksums(installation.data_dir / "kehu.sqlite3")
    return postgres_checksums(database_config(pg_url(installation.database)), installation.database)


def test_backup_wipe_restore_verify_round_trips_with_identical_counts_and_checksums(restored: Installation) -> None:
    report = backup_verify(restored.archive)
    assert report.ok, report.problems

    tables, migrations = restored_checksums(restored)
    assert tables == restored.manifest["tables"]
    assert migrations == restored.manifest["migrations"]
    assert (restored.data_dir / "media" / restored.attachment).read_bytes() == PDF
    for name, content in restored.keys.items():
        assert (restored.data_dir / name).read_bytes() == content
    phone = kehu("shell", "-c", READ_PHONE.format(pk=restored.customer), env=restored.env).stdout
    assert f"PHONE {PHONE}" in phone


def test_restore_into_a_non_empty_installation_is_refused(restored: Installation) -> None:
    refused = kehu("restore", str(restored.archive), env=restored.env, check=False)
    assert refused.returncode == 1
    assert "not empty" in refused.stderr or "holds a database already" in refused.stderr
    assert restored_checksums(restored)[0] == restored.manifest["tables"]  # nothing was touched
    if restored.vendor == "sqlite":
        forced = kehu("restore", str(restored.archive), "--force", env=restored.env)
        assert "moved aside (not deleted)" in forced.stdout
        assert list(restored.data_dir.glob("kehu.sqlite3.before-restore-*"))
        assert list(restored.data_dir.glob("media.before-restore-*"))
        assert restored_checksums(restored)[0] == restored.manifest["tables"]


def flip_member_byte(archive: Path, target: Path, member_name: str) -> None:
    """Copy ``archive`` with the first byte of ``member_name``'s content flipped."""
    with tarfile.open(archive, "r:gz") as source, tarfile.open(target, "w:gz") as out:
        for member in source:
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == member_name:
                data = bytes([data[0] ^ 0x01]) + data[1:]
            out.addfile(member, io.BytesIO(data))


def test_a_flipped_byte_in_a_member_fails_verify_naming_the_member(installation: Installation, tmp_path: Path) -> None:
    media = f"media/{installation.attachment}"
    damaged = tmp_path / "damaged.tar.gz"
    flip_member_byte(installation.archive, damaged, media)

    report = backup_verify(damaged)

    assert report.problems == [f"{media}: SHA-256 differs from the manifest (the file is damaged)"]


def test_a_flipped_byte_in_the_compressed_archive_fails_verify_on_the_command_line(
    installation: Installation, tmp_path: Path
) -> None:
    data = bytearray(installation.archive.read_bytes())
    data[len(data) // 3] ^= 0xFF
    damaged = tmp_path / "flipped.tar.gz"
    damaged.write_bytes(bytes(data))

    result = kehu("backup", "--verify", str(damaged), env=installation.env, check=False)

    assert result.returncode == 1
    assert installation.manifest["database"]["member"] in result.stdout
    assert "FAILED verification" in result.stderr


def rewrite_manifest(archive: Path, target: Path, change: Any) -> None:
    with tarfile.open(archive, "r:gz") as source, tarfile.open(target, "w:gz") as out:
        for member in source:
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == MANIFEST:
                manifest = json.loads(data)
                change(manifest)
                data = json.dumps(manifest).encode()
                member.size = len(data)
            out.addfile(member, io.BytesIO(data))


@pytest.fixture
def empty_data_dir(tmp_path: Path) -> Iterator[Path]:
    """An empty data directory for the restores of this process that must refuse."""
    data = tmp_path / "fresh"
    data.mkdir()
    with override_settings(DATA_DIR=data, MEDIA_ROOT=data / "media"):
        yield data


def test_restore_refuses_an_archive_from_a_newer_kehu(installation: Installation, empty_data_dir: Path) -> None:
    newer = empty_data_dir.parent / "newer.tar.gz"
    rewrite_manifest(installation.archive, newer, lambda m: m["migrations"].append(["customers", "9999_future"]))

    with pytest.raises(BackupError, match=r"newer Kehu .*customers\.9999_future"):
        backup_restore(newer)
    assert sorted(p.name for p in empty_data_dir.iterdir()) == []


def test_restore_refuses_a_different_encryption_key_in_the_environment(
    installation: Installation, empty_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEHU_ENCRYPTION_KEY", "bm90LXRoZS1rZXktb2YtdGhlLWFyY2hpdmUtMDEyMzQ=")

    with pytest.raises(BackupError, match="KEHU_ENCRYPTION_KEY is set in the environment to a different key"):
        backup_restore(installation.archive)
    assert sorted(p.name for p in empty_data_dir.iterdir()) == []


@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL configured")
def test_a_sqlite_archive_cannot_be_restored_into_postgresql(installation: Installation, empty_data_dir: Path) -> None:
    sqlite_only(installation)
    with pytest.raises(BackupError, match=r"restoring across database vendors .* is not supported"):
        backup_restore(installation.archive)
