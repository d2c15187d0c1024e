"""Reading imports: a user sees their own jobs; administrators see every job."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from kehu.dataio.imports.models import ImportJob, ImportStatus
from kehu.platform.errors import NotVisible

# A job queued longer than this has no task worker picking it up (or a busy one).
WORKER_WAIT = datetime.timedelta(seconds=15)


def jobs_for(user: Any) -> QuerySet[ImportJob]:
    """The imports ``user`` may look at, newest first."""
    jobs = ImportJob.objects.select_related("created_by")
    if not user.is_authenticated:
        return jobs.none()
    return jobs if getattr(user, "is_kehu_admin", user.is_superuser) else jobs.filter(created_by=user)


def job_get(user: Any, pk: Any) -> ImportJob:
    """One import ``user`` may look at; raises NotVisible."""
    try:
        return jobs_for(user).get(pk=pk)
    except (ImportJob.DoesNotExist, ValueError, TypeError):
        raise NotVisible from None


def waiting_for_worker(job: ImportJob) -> bool:
    """Has ``job`` been queued for longer than ``WORKER_WAIT``? (``heartbeat_at`` is set when
    it is queued.) The page then says that a task worker has to be running."""
    return (
        job.status == ImportStatus.QUEUED
        and job.heartbeat_at is not None
        and timezone.now() - job.heartbeat_at > WORKER_WAIT
    )
