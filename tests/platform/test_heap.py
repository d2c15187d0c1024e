"""The web process freezes its long-lived objects out of the garbage collector's full
collections (kehu.platform.heap): once loaded, and again after its first requests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import weakref
from pathlib import Path
from typing import Any

# Run in a process of its own: the WSGI module set up as gunicorn loads it, then requests.
PROBE = """
import gc, json
from kehu.platform import heap
frozen_after = []  # the request count at each freeze
original = heap.freeze
def recording():
    frozen_after.append(heap._served)
    return original()
heap.freeze = recording
import kehu.wsgi
loaded = gc.get_freeze_count()
from django.test import Client
client = Client(HTTP_HOST="127.0.0.1")
statuses = [client.get("/healthz").status_code for _ in range(12)]
print(json.dumps({"loaded": loaded, "frozen_after": frozen_after, "statuses": statuses}))
"""


def test_the_wsgi_application_freezes_what_it_loaded_and_again_after_its_first_requests(tmp_path: Path) -> None:
    leaks = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEHU_") and k not in leaks}
    env.update(KEHU_DATA_DIR=str(tmp_path), KEHU_LOG_LEVEL="WARNING")
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["statuses"] == [200] * 12
    assert found["loaded"] > 50_000  # Django, the apps and every view and API module
    assert found["frozen_after"] == [0, 1, 10]  # on loading, after the 1st and the 10th request


class Cycle:
    itself: Any = None


def test_bulk_work_freezes_what_is_alive_and_collects_the_young_less_often_for_its_duration() -> None:
    import gc

    from kehu.platform import heap

    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    with heap.bulk_work(young=12_345):
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (12_345, *before[1:])
        cycle = Cycle()
        cycle.itself = cycle
        gone = weakref.ref(cycle)
        del cycle
        gc.collect()
        assert gone() is None  # the job's own garbage is still collected
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0  # given back to the collector


def test_bulk_work_leaves_a_process_that_froze_its_heap_frozen() -> None:
    import gc

    from kehu.platform import heap

    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with heap.bulk_work():
            assert 0 < gc.get_freeze_count() <= frozen  # nothing more frozen (a frozen object may die)
        assert 0 < gc.get_freeze_count() <= frozen  # and not unfrozen
    finally:
        gc.unfreeze()
