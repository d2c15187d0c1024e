"""``platform.processes``: forked helpers (the search index's, an import's) are made only where
that is safe, and never outlive the process that made them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from kehu.platform import processes


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for init to reap it has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_forked_helper_ends_when_its_parent_is_killed(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import os, sys, time
        import django
        django.setup()
        from kehu.platform import processes
        pool = processes.fork_pool(1)
        print(pool.submit(os.getpid).result(), flush=True)
        time.sleep(60)
        """
    )
    env = {**os.environ, "KEHU_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "kehu.settings"}
    parent = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert _alive(child)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child)
    finally:
        parent.kill()


def test_no_helpers_are_forked_from_a_thread_other_than_the_main_one() -> None:
    made: list[Any] = []
    thread = threading.Thread(target=lambda: made.append(processes.fork_pool(1)))
    thread.start()
    thread.join()
    assert made == [None]
