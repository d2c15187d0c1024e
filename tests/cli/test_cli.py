from __future__ import annotations

import os
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
