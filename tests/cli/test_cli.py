from __future__ import annotations

import os
import re
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError

from kehu import cli

KEHU_COMMANDS = ["run", "init", "demo", "createuser", "token", "worker"]


@pytest.mark.parametrize("argv", [[], ["--help"], ["-h"]])
def test_kehu_help_lists_kehu_commands_first(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    cli.main(argv)
    out = capsys.readouterr().out
    positions = [out.index(f"  {name} ") for name in KEHU_COMMANDS]
    assert positions == sorted(positions)
    assert "Every Django management command" in out
    assert "kehu help" in out


def test_kehu_help_subcommand_lists_django_and_kehu_commands(tmp_path: Path) -> None:
    env = {**os.environ, "KEHU_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "kehu.settings"}
    result = subprocess.run(
        [sys.executable, "-c", "from kehu.cli import main; main()", "help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    for name in [*KEHU_COMMANDS, "migrate", "check", "shell"]:
        assert name in result.stdout


def test_worker_refuses_when_tasks_do_not_use_the_database(run_command) -> None:
    with pytest.raises(CommandError, match="KEHU_TASKS_BACKEND=db"):
        run_command("worker", "--batch")


def _kehu(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    leaks = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}  # set by other tests in this process
    base = {k: v for k, v in os.environ.items() if not k.startswith("KEHU_") and k not in leaks}
    return subprocess.run(
        [sys.executable, "-c", "from kehu.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env={**base, "KEHU_DATA_DIR": str(tmp_path / "data"), **env},
        timeout=120,
    )


def _check_ids(output: str) -> set[str]:
    return set(re.findall(r"\((security\.[EW]\d+)\)", output))


def test_check_deploy_reports_only_what_https_termination_settles(tmp_path: Path) -> None:
    result = _kehu(tmp_path, "check", "--deploy")
    assert _check_ids(result.stdout + result.stderr) == {
        "security.W004",
        "security.W008",
        "security.W012",
        "security.W016",
    }


def test_check_deploy_behind_https_reports_at_most_the_preload_choice(tmp_path: Path) -> None:
    result = _kehu(tmp_path, "check", "--deploy", KEHU_HTTPS="1")
    assert result.returncode == 0, result.stderr
    assert _check_ids(result.stdout + result.stderr) <= {"security.W021"}
    preloaded = _kehu(tmp_path, "check", "--deploy", KEHU_HTTPS="1", KEHU_HSTS_PRELOAD="1")
    assert _check_ids(preloaded.stdout + preloaded.stderr) == set()


def test_first_run_creates_keys_readable_by_owner_only_and_keeps_them(tmp_path: Path) -> None:
    assert _kehu(tmp_path, "check").returncode == 0
    data = tmp_path / "data"
    keys = {name: (data / name).read_text() for name in ("secret.key", "encryption.key")}
    for name in keys:
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert _kehu(tmp_path, "check").returncode == 0
    assert {name: (data / name).read_text() for name in keys} == keys


def test_init_creates_sqlite_database_in_wal_mode(tmp_path: Path) -> None:
    result = _kehu(tmp_path, "init", "--no-input")
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "data" / "kehu.sqlite3") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("SELECT count(*) FROM django_migrations").fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_worker_runs_tasks_queued_in_the_database(run_command, settings) -> None:
    from django_tasks import TaskResultStatus

    from kehu.accounts.models import Team
    from tests.cli.tasks import make_team

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    result = make_team.enqueue("Queued team")
    assert not Team.objects.filter(name="Queued team").exists()

    run_command("worker", "--batch", verbosity=0)

    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == "Queued team"
    assert Team.objects.filter(name="Queued team").exists()
