"""The production processes as real processes: `kehu run --production`, `kehu worker` running
tasks queued by another process (the database queue, and RQ on the real Redis), and the task
worker `kehu run` starts beside the web workers."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import CommandError

from kehu.platform.management.commands.run import production_workers, wants_background

REPO = Path(__file__).resolve().parents[2]
HTMX = REPO / "src" / "kehu" / "static" / "vendor" / "htmx" / "htmx.min.js"
# A Redis database of its own, emptied by the test (KEHU_TEST_REDIS_URL to use another one).
REDIS_URL = os.environ.get("KEHU_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    leaks = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}  # set by other tests in this process
    base = {k: v for k, v in os.environ.items() if not k.startswith("KEHU_") and k not in leaks}
    return {
        **base,
        "KEHU_DATA_DIR": str(data_dir),
        "KEHU_BACKUP_INTERVAL_HOURS": "0",  # the worker's start-up sweeps make no backup
        "PYTHONPATH": str(REPO),  # tests.cli.tasks, the tasks queued here
        **extra,
    }


def _kehu_argv(*args: str) -> list[str]:
    return [sys.executable, "-c", "from kehu.cli import main; main()", *args]


def _kehu(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _kehu_argv(*args), capture_output=True, text=True, env=_env(data_dir, **env), cwd=REPO, timeout=120
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data directory with a migrated SQLite database for the tests of this module."""
    path = tmp_path_factory.mktemp("production") / "data"
    result = _kehu(path, "init", "--no-input")
    assert result.returncode == 0, result.stderr
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _wait_until_ready(url: str, server: subprocess.Popen[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"kehu run --production exited with {server.returncode}: {server.communicate()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.3)
    pytest.fail(f"{url} did not answer within {timeout} seconds")


@contextlib.contextmanager
def _serving(data_dir: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``kehu run ARGS`` on a free port, answering on /readyz: the process and its base URL;
    killed at the end if the test left it running."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        _kehu_argv("run", *args, "--port", str(port)),
        env=_env(data_dir, KEHU_LOG_LEVEL="WARNING"),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_until_ready(f"{base}/readyz", server)
        yield server, base
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()


def test_production_server_serves_compressed_static_files_from_several_workers_and_stops_on_sigterm(
    data_dir: Path,
) -> None:
    with _serving(data_dir, "--production") as (server, base):
        with urllib.request.urlopen(f"{base}/readyz", timeout=5) as response:
            assert json.load(response) == {"status": "ok", "database": "ok"}

        request = urllib.request.Request(f"{base}/static/vendor/htmx/htmx.min.js", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
            assert response.headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(response.read()) == HTMX.read_bytes()
        assert (data_dir / "static" / "vendor" / "htmx" / "htmx.min.js.gz").exists()  # collected before serving

        expected = production_workers()
        assert expected >= 3
        deadline = time.monotonic() + 30
        while len(_children(server.pid)) < expected and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = _children(server.pid)
        assert len(workers) == expected

        server.send_signal(signal.SIGTERM)
        out, _err = server.communicate(timeout=45)
        assert server.returncode == 0
        assert f"with {expected} worker(s) (production profile)" in out
        assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


def _enqueue_make_team(data_dir: Path, name: str) -> None:
    queued = _kehu(data_dir, "shell", "-c", f"from tests.cli.tasks import make_team; make_team.enqueue({name!r})")
    assert queued.returncode == 0, queued.stderr


def _team_exists(data_dir: Path, name: str) -> bool:
    with sqlite3.connect(data_dir / "kehu.sqlite3") as connection:
        return bool(connection.execute("SELECT 1 FROM accounts_team WHERE name = ?", (name,)).fetchall())


def test_run_starts_a_task_worker_and_scheduler_that_stop_with_the_server(data_dir: Path) -> None:
    with _serving(data_dir, "--workers", "1") as (server, _base):
        _enqueue_make_team(data_dir, "Team run by kehu run")  # as the import wizard queues an import
        deadline = time.monotonic() + 60
        while not _team_exists(data_dir, "Team run by kehu run") and time.monotonic() < deadline:
            time.sleep(0.3)
        assert _team_exists(data_dir, "Team run by kehu run")
        children = _children(server.pid)
        assert len(children) == 3  # the one web worker, the task worker and the scheduler

        server.send_signal(signal.SIGTERM)
        out, _err = server.communicate(timeout=60)
        assert server.returncode == 0
        assert "with 1 worker(s), a task worker and the scheduler" in out
        assert not any(Path(f"/proc/{pid}").exists() for pid in children)


@pytest.mark.parametrize(
    ("production", "flag", "backend", "expected"),
    [
        (False, None, "django_tasks_db.DatabaseBackend", True),
        (False, False, "django_tasks_db.DatabaseBackend", False),
        (True, None, "django_tasks_db.DatabaseBackend", False),
        (True, True, "django_tasks_db.DatabaseBackend", True),
        (False, None, "django_tasks_rq.RQBackend", True),
        (False, True, "django_tasks.backends.immediate.ImmediateBackend", False),
    ],
)
def test_run_starts_background_processes_unless_production_no_worker_or_inline_tasks(
    settings, production: bool, flag: bool | None, backend: str, expected: bool
) -> None:
    settings.TASKS = {"default": {"BACKEND": backend}}
    assert wants_background({"production": production, "worker": flag}) is expected


def test_production_refuses_to_run_with_debug_on(run_command, settings) -> None:
    settings.DEBUG = True
    with pytest.raises(CommandError, match="KEHU_DEBUG"):
        run_command("run", "--production")


def test_worker_runs_a_task_queued_by_another_process(data_dir: Path) -> None:
    queued = _kehu(
        data_dir,
        "shell",
        "-c",
        "from tests.cli.tasks import make_team; print(make_team.enqueue('Team from the queue').id)",
    )
    assert queued.returncode == 0, queued.stderr
    task_id = queued.stdout.strip().splitlines()[-1]
    database = data_dir / "kehu.sqlite3"
    with sqlite3.connect(database) as connection:
        assert not connection.execute("SELECT 1 FROM accounts_team WHERE name = 'Team from the queue'").fetchall()

    worker = _kehu(data_dir, "worker", "--batch")

    assert worker.returncode == 0, worker.stderr
    with sqlite3.connect(database) as connection:
        status, value = connection.execute(
            "SELECT status, return_value FROM django_tasks_database_dbtaskresult WHERE id = ?",
            (uuid.UUID(task_id).hex,),  # how Django stores a UUID in SQLite
        ).fetchone()
        assert connection.execute("SELECT 1 FROM accounts_team WHERE name = 'Team from the queue'").fetchall()
    assert (status, json.loads(value)) == ("SUCCESSFUL", "Team from the queue")


@pytest.fixture
def redis_queue(settings) -> Iterator[None]:
    """This process queues tasks with django-tasks-rq in an emptied Redis database."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    client.flushdb()
    settings.RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": -1}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    yield
    client.flushdb()
    client.close()


def test_rq_worker_runs_a_task_enqueued_in_redis_by_another_process(data_dir: Path, redis_queue: None) -> None:
    from django_tasks import TaskResultStatus

    from tests.cli.tasks import make_team

    result = make_team.enqueue("Team from Redis")

    worker = _kehu(data_dir, "worker", "--batch", KEHU_TASKS_BACKEND="rq", KEHU_REDIS_URL=REDIS_URL)

    assert worker.returncode == 0, worker.stderr
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == "Team from Redis"
    with sqlite3.connect(data_dir / "kehu.sqlite3") as connection:
        assert connection.execute("SELECT 1 FROM accounts_team WHERE name = 'Team from Redis'").fetchall()


def test_rq_backend_without_redis_url_is_refused_at_start(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import kehu.settings"],
        capture_output=True,
        text=True,
        env=_env(tmp_path, KEHU_TASKS_BACKEND="rq"),
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode != 0
    assert "KEHU_TASKS_BACKEND=rq needs KEHU_REDIS_URL" in result.stderr


def test_pgbouncer_setting_turns_off_server_side_cursors(monkeypatch: pytest.MonkeyPatch) -> None:
    from kehu.settings import database_config

    url = "postgresql://kehu@db.example.com/kehu"
    assert database_config(url)["DISABLE_SERVER_SIDE_CURSORS"] is False
    assert database_config(url)["OPTIONS"]["options"] == "-c jit=off"  # short queries: no JIT
    monkeypatch.setenv("KEHU_DB_DISABLE_SERVER_SIDE_CURSORS", "1")
    assert database_config(url)["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert "options" not in database_config(url)["OPTIONS"]  # PgBouncer refuses startup options
