"""Keeping a server process's long-lived objects out of the garbage collector's way.

Python's full (generation 2) collections walk every tracked object. In a Kehu web worker most
of them live as long as the process: Django, the apps, the URL configuration with every view
and API schema, then the compiled templates, translation catalogues and caches its first
requests load. Measured on a list page, each full collection added 70–100 ms to the request it
fell on, one request in a few dozen. ``gc.freeze()`` moves everything alive at that point into
a permanent generation that collections skip; under gunicorn's ``preload_app`` (``kehu run
--production``) it also keeps the workers' collections from writing to the memory pages they
share with the master (copy-on-write).

``kehu.wsgi`` freezes once the application is loaded, and again after a worker's 1st, 10th
and 100th request (what those loaded stays for good); each time after a collection, so no
garbage is frozen with it. The collection runs when the request has been answered.

Bulk jobs (an import) run inside ``bulk_work``, which freezes what is alive when they start
for their duration and collects the youngest generation less often.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# After these requests of a process, freeze again.
REFREEZE_AFTER = (1, 10, 100)

_served = 0


def freeze() -> int:
    """Collect, then freeze what is alive. Returns the number of objects frozen so far."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def freeze_loaded() -> int:
    """Load the URL configuration (every view and API module), then ``freeze``."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018  (imports the URLconf and what it names)
    return freeze()


def _request_finished(sender: Any, **kwargs: Any) -> None:
    global _served
    _served += 1
    if _served in REFREEZE_AFTER:
        freeze()


def freeze_as_requests_warm_up() -> None:
    """Freeze after the process's requests in ``REFREEZE_AFTER`` (connected by ``kehu.wsgi``)."""
    from django.core.signals import request_finished

    request_finished.connect(_request_finished, dispatch_uid="kehu.platform.heap")


@contextmanager
def bulk_work(young: int = 10_000) -> Iterator[None]:
    """For a long bulk job (an import): what is alive when it starts kept out of the collector's
    way (frozen, unless the process froze its heap already, and unfrozen at the end), and a
    collection of the youngest generation only every ``young`` new objects instead of 700.

    A batch of 2,000 imported rows holds some 100,000 objects until it is written: with the
    default thresholds they were walked again and again on their way to the oldest generation,
    whose collections also walked all of Django, and the collector took ~10 % of an import's
    time (2.4 s of 20 s for 20,000 rows; 0.55 s with this)."""
    thresholds = gc.get_threshold()
    froze = gc.get_freeze_count() == 0
    if froze:
        gc.collect()
        gc.freeze()
    gc.set_threshold(max(young, thresholds[0]), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if froze:
            gc.unfreeze()
