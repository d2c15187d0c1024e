"""Scheduled backups and retention, and what goes into an archive, in this process against the
test database: the sweep backs up only when the newest archive is older than the interval,
retention keeps the newest N archives and never touches other files, keys from the environment
or left out with --no-keys are not in the archive and the manifest says so (checksums:
test_backup_checksums.py; the round trip through the command line: test_backup.py)."""

from __future__ import annotations

import datetime as dt
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from kehu.dataio.backup.archive import MANIFEST, archive_names
from kehu.dataio.backup.services import backup_create, backup_prune, backup_sweep, newest_backup_time
from kehu.platform import housekeeping
from kehu.platform.models import AuditAction, AuditEntry


def touch_archive(directory: Path, when: dt.datetime, suffix: str = "") -> Path:
    path = directory / f"kehu-backup-{when.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}{suffix}.tar.gz"
    path.write_bytes(b"not a real archive")
    return path


def manifest_of(path: Path) -> dict[str, Any]:
    with tarfile.open(path, "r:gz") as tar:
        member = tar.extractfile(MANIFEST)
        assert member is not None
        return json.loads(member.read())


@pytest.fixture
def backups(tmp_path: Path) -> Any:
    directory = tmp_path / "backups"
    with override_settings(KEHU_BACKUP_DIR=str(directory), KEHU_BACKUP_INTERVAL_HOURS=24, KEHU_BACKUP_KEEP=3):
        yield directory


def test_keep_deletes_all_but_the_newest_archives_and_no_other_file(tmp_path: Path) -> None:
    start = dt.datetime(2026, 11, 1, 3, 0, tzinfo=dt.UTC)
    made = [touch_archive(tmp_path, start + dt.timedelta(days=n)) for n in range(5)]
    same_second = touch_archive(tmp_path, start + dt.timedelta(days=4), suffix="-1")
    others = [tmp_path / "kehu-backup-notes.tar.gz", tmp_path / "notes.txt", tmp_path / "kehu.sqlite3"]
    for other in others:
        other.write_text("keep me")

    removed = backup_prune(2, tmp_path)

    assert removed == made[:4]
    assert archive_names(tmp_path) == [made[4], same_second]
    assert all(other.exists() for other in others)


def test_keep_below_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="at least 1"):
        backup_prune(0, tmp_path)
    with pytest.raises(CommandError, match="at least 1"):
        call_command("backup", "--keep", "0", stdout=io.StringIO())


@pytest.mark.django_db
def test_the_sweep_backs_up_only_when_the_newest_archive_is_older_than_the_interval(backups: Path) -> None:
    assert "backup" in housekeeping.sweeps()
    backups.mkdir()
    old = touch_archive(backups, timezone.now() - dt.timedelta(hours=30))

    made = backup_sweep()

    assert made.startswith("made kehu-backup-")
    fresh = archive_names(backups)[-1]
    assert fresh != old
    assert manifest_of(fresh)["tables"]["django_migrations"]["rows"] > 0
    assert AuditEntry.objects.filter(action=AuditAction.BACKUP, source="system").count() == 1

    assert backup_sweep().startswith("not due")
    assert backup_sweep(now=timezone.now() + dt.timedelta(hours=23)).startswith("not due")
    assert len(archive_names(backups)) == 2

    later = backup_sweep(now=newest_backup_time(backups) + dt.timedelta(hours=25))  # type: ignore[operator]
    assert later.startswith("made ")


@pytest.mark.django_db
def test_the_sweep_keeps_the_newest_n_archives(backups: Path) -> None:
    backups.mkdir()
    for days in (10, 9, 8, 7):
        touch_archive(backups, timezone.now() - dt.timedelta(days=days))

    result = backup_sweep()

    assert "removed 2 old archives" in result
    names = archive_names(backups)
    assert len(names) == 3
    assert tarfile.is_tarfile(names[-1])


@pytest.mark.django_db
def test_the_sweep_is_off_when_the_interval_is_zero(backups: Path) -> None:
    with override_settings(KEHU_BACKUP_INTERVAL_HOURS=0):
        assert "off" in backup_sweep()
    assert archive_names(backups) == []


@pytest.mark.django_db
def test_no_keys_leaves_the_key_files_out_and_the_manifest_says_so(tmp_path: Path) -> None:
    lines: list[str] = []
    result = backup_create(output=tmp_path, include_keys=False, progress=lines.append)

    manifest = manifest_of(result.path)
    assert not [name for name in manifest["files"] if name.startswith("keys/")]
    assert manifest["keys"]["left_out_by_option"] is True
    assert any("left out (--no-keys)" in line for line in lines)


@pytest.mark.django_db
def test_keys_from_the_environment_cannot_be_in_the_archive_and_the_output_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEHU_ENCRYPTION_KEY", "ZW52aXJvbm1lbnQta2V5LW9mLXRoaXMtdGVzdC0wMTI=")
    out = io.StringIO()
    call_command("backup", "--output", str(tmp_path), stdout=out)

    manifest = manifest_of(archive_names(tmp_path)[-1])
    assert "keys/encryption.key" not in manifest["files"]
    assert "keys/secret.key" in manifest["files"]
    assert manifest["keys"]["from_environment"] == ["KEHU_ENCRYPTION_KEY"]
    assert "KEHU_ENCRYPTION_KEY come from the environment and cannot be in the archive" in out.getvalue()
    assert out.getvalue().strip().splitlines()[-1].startswith(f"Backup written: {tmp_path}/kehu-backup-")
