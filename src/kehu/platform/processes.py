"""Child processes that must not outlive the process that started them."""

from __future__ import annotations

import contextlib
import signal
import sys


def die_with_parent(signum: int = signal.SIGKILL) -> None:
    """Linux: have the kernel send ``signum`` to this process when its parent dies, even by
    SIGKILL (``PR_SET_PDEATHSIG``); call it in the child, first thing. Elsewhere it does nothing.

    A forked child left behind would keep its copies of the parent's file descriptors open: a
    PostgreSQL connection's socket, and with it the dead parent's transaction and its row locks
    (an import run again after ``kill -9`` would wait on them for ever)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signum)  # PR_SET_PDEATHSIG
