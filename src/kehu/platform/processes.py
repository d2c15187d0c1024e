"""Child processes: forked helpers with database connections of their own (``fork_pool``),
and children that must not outlive the process that started them (``die_with_parent``)."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
from concurrent.futures import ProcessPoolExecutor

from django.db import connection, connections


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


def cpus() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _start_forked() -> None:
    """In a helper just forked: end with the parent, leave the parent's database connections
    alone (a SQLite handle must not be used, nor closed, across a fork) and open new ones."""
    die_with_parent()
    for conn in connections.all(initialized_only=True):
        conn.connection = None


def fork_pool(workers: int) -> ProcessPoolExecutor | None:
    """``workers`` forked processes that share this one's loaded state and open database
    connections of their own, all forked now; or None where that cannot be: processes cannot be
    forked, a transaction is open (they could not see its records), or this is not the main
    thread (a web server's request thread running an import inline: the process runs other
    threads, and a child could inherit a lock one of them held, for ever)."""
    if (
        connection.in_atomic_block
        or threading.current_thread() is not threading.main_thread()
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        return None
    executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=_start_forked)
    executor.submit(int).result()  # forks every worker now, before this process opens a transaction
    return executor
