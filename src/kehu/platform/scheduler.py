"""``kehu scheduler``: the timetable of the housekeeping sweeps (``platform/housekeeping.py``).

APScheduler triggers (an interval or a crontab line per sweep) queue each sweep as a background
task for the workers; the scheduler itself does no work. Several schedulers may run — one per
machine, for redundancy — and only the one holding the database lease fires: it renews the lease
every third of its length, and when it stops (or its machine dies) another takes over once the
lease has expired. A tick that fires while the lease is lost is skipped, never run twice."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from kehu.platform import housekeeping
from kehu.platform.models import Lease

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
DEFAULT_LEASE_SECONDS = 30


def holder_name() -> str:
    """Who holds the lease: the machine, the process and a random part (a restarted process is
    a new holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(name: str, holder: str, *, seconds: float, now: dt.datetime | None = None) -> bool:
    """Take or renew lease ``name`` for ``seconds``: true when ``holder`` holds it now (it held
    it already, or the last holder's time ran out). One UPDATE in the common case."""
    now = now or timezone.now()
    until = now + dt.timedelta(seconds=seconds)
    with transaction.atomic():
        taken = Lease.objects.filter(Q(holder=holder) | Q(expires_at__lt=now), name=name)
        previous = taken.values_list("holder", flat=True).first()
        if taken.update(holder=holder, expires_at=until):
            if previous != holder:
                Lease.objects.filter(name=name).update(acquired_at=now)
            return True
        try:
            with transaction.atomic():
                Lease.objects.create(name=name, holder=holder, expires_at=until, acquired_at=now)
        except IntegrityError:  # held by someone else, and not expired
            return False
    return True


def release(name: str, holder: str) -> None:
    """Give the lease up at once (a clean stop), so another scheduler need not wait."""
    Lease.objects.filter(name=name, holder=holder).delete()


class Timetable:
    """The sweeps' triggers on an APScheduler scheduler, firing only while this process holds
    the lease."""

    def __init__(self, *, holder: str | None = None, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        self.holder = holder or holder_name()
        self.lease_seconds = lease_seconds
        self.leader = False

    def renew(self) -> bool:
        was = self.leader
        try:
            self.leader = acquire(LEASE_NAME, self.holder, seconds=self.lease_seconds)
        except Exception:  # the database is away: stand down until it answers again
            log.exception("scheduler lease could not be renewed")
            self.leader = False
        if self.leader != was:
            log.info("scheduler %s is %s", self.holder, "the leader" if self.leader else "on standby")
        return self.leader

    def fire(self, name: str) -> bool:
        """Queue sweep ``name`` if this scheduler leads; true when it was queued."""
        if not self.renew():
            return False
        housekeeping.sweeps()[name].enqueue()
        log.info("queued sweep %s", name)
        return True

    def triggers(self) -> dict[str, Any]:
        """An APScheduler trigger per registered sweep."""
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        zone = settings.TIME_ZONE
        found: dict[str, Any] = {}
        for name, schedule in housekeeping.schedules().items():
            if schedule.cron:
                found[name] = CronTrigger.from_crontab(schedule.cron, timezone=zone)
            else:
                found[name] = IntervalTrigger(seconds=schedule.every.total_seconds(), timezone=zone)  # type: ignore[union-attr]
        return found

    def scheduler(self, scheduler_class: Any = None) -> Any:
        """A (not yet started) APScheduler scheduler with the lease renewal and every sweep."""
        from apscheduler.schedulers.blocking import BlockingScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        scheduler = (scheduler_class or BlockingScheduler)(timezone=settings.TIME_ZONE)
        scheduler.add_job(
            self.renew,
            IntervalTrigger(seconds=max(self.lease_seconds / 3, 0.5)),
            id="lease",
            next_run_time=timezone.now(),
            max_instances=1,
            coalesce=True,
        )
        for name, trigger in self.triggers().items():
            # a tick missed by up to a minute (a busy machine) still fires, once
            scheduler.add_job(self.fire, trigger, args=[name], id=name, coalesce=True, misfire_grace_time=60)
        return scheduler

    def stop(self) -> None:
        if self.leader:
            release(LEASE_NAME, self.holder)
            self.leader = False
