"""``kehu scheduler``: the sweeps' timetable, fired by one scheduler at a time through a lease."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from django.utils import timezone

from kehu.platform import housekeeping, scheduler
from kehu.platform.models import Lease
from tests.cli import tasks


@pytest.fixture
def note_sweep() -> Iterator[None]:
    tasks.FIRED.clear()
    housekeeping.register("test_note", tasks.note_sweep, every=dt.timedelta(seconds=1))
    yield
    housekeeping._sweeps.pop("test_note", None)
    housekeeping._schedules.pop("test_note", None)


def test_a_lease_is_held_by_one_holder_until_it_expires(db: Any) -> None:
    now = timezone.now()
    assert scheduler.acquire("job", "a", seconds=30, now=now)
    assert not scheduler.acquire("job", "b", seconds=30, now=now + dt.timedelta(seconds=10))
    assert scheduler.acquire("job", "a", seconds=30, now=now + dt.timedelta(seconds=20))  # renewed
    assert not scheduler.acquire("job", "b", seconds=30, now=now + dt.timedelta(seconds=45))
    assert scheduler.acquire("job", "b", seconds=30, now=now + dt.timedelta(seconds=51))  # a's ran out
    assert not scheduler.acquire("job", "a", seconds=30, now=now + dt.timedelta(seconds=52))
    assert Lease.objects.get(name="job").holder == "b"


def test_a_released_lease_is_free_at_once(db: Any) -> None:
    assert scheduler.acquire("job", "a", seconds=300)
    scheduler.release("job", "a")
    assert scheduler.acquire("job", "b", seconds=300)


def test_only_the_leading_scheduler_queues_a_sweep(db: Any, note_sweep: None) -> None:
    first, second = scheduler.Timetable(holder="first"), scheduler.Timetable(holder="second")
    assert first.fire("test_note")
    assert not second.fire("test_note")
    assert tasks.FIRED == ["note"]  # queued once (the test backend runs it at once)
    first.stop()
    assert second.fire("test_note")
    assert tasks.FIRED == ["note", "note"]


def test_every_registered_sweep_gets_its_trigger(db: Any, note_sweep: None) -> None:
    housekeeping.register("test_nightly", tasks.note_sweep, cron="0 3 * * *")
    try:
        triggers = scheduler.Timetable(holder="x").triggers()
    finally:
        housekeeping._sweeps.pop("test_nightly")
        housekeeping._schedules.pop("test_nightly")
    assert set(triggers) == {*housekeeping.sweeps(), "test_nightly"}
    assert triggers["reminders"].interval == dt.timedelta(minutes=5)
    assert isinstance(triggers["test_note"], IntervalTrigger)
    nightly = triggers["test_nightly"]
    assert isinstance(nightly, CronTrigger)
    assert nightly.get_next_fire_time(None, dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)).hour == 3


def test_a_sweep_registered_with_both_an_interval_and_a_crontab_is_refused() -> None:
    with pytest.raises(ValueError, match="every or cron"):
        housekeeping.register("bad", tasks.note_sweep, every=dt.timedelta(minutes=1), cron="* * * * *")


@pytest.mark.django_db(transaction=True)
def test_the_timetable_fires_sweeps_on_time(note_sweep: None) -> None:
    timetable = scheduler.Timetable(holder="timed", lease_seconds=3)
    running = timetable.scheduler(BackgroundScheduler)
    running.start()
    try:
        deadline = time.monotonic() + 10
        while len(tasks.FIRED) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        running.shutdown(wait=True)
        timetable.stop()
    assert len(tasks.FIRED) >= 2  # every second


def _environment(data: Path) -> dict[str, str]:
    leaks = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    base = {k: v for k, v in os.environ.items() if not k.startswith("KEHU_") and k not in leaks}
    return {**base, "KEHU_DATA_DIR": str(data)}


def _holder(database: Path) -> str | None:
    with sqlite3.connect(database, timeout=10) as connection:
        row = connection.execute(
            "SELECT holder FROM platform_lease WHERE name = 'scheduler' AND expires_at > ?",
            (dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(" "),),
        ).fetchone()
    return row[0] if row else None


def _wait_for(condition: Any, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    return condition()


def test_a_standby_scheduler_takes_over_when_the_leader_stops(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = _environment(data)
    kehu = [sys.executable, "-c", "from kehu.cli import main; main()"]
    subprocess.run([*kehu, "migrate", "-v0"], env=env, check=True, timeout=120)
    database = data / "kehu.sqlite3"
    command = [*kehu, "scheduler", "--lease-seconds", "2"]
    leader = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    standby = None
    try:
        first = _wait_for(lambda: _holder(database))
        assert first is not None
        assert f":{leader.pid}:" in first
        standby = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)  # longer than the lease: the leader keeps renewing it
        assert _holder(database) == first
        leader.terminate()
        leader.wait(timeout=20)
        assert leader.returncode == 0, leader.stderr.read() if leader.stderr else ""
        second = _wait_for(lambda: (h := _holder(database)) and h != first and h)
        assert second
        assert f":{standby.pid}:" in second
    finally:
        for process in (leader, standby):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
