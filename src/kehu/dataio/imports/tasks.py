"""Background work of the import: running a job, and removing the files of old jobs."""

from __future__ import annotations

import datetime
import os

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from kehu.dataio.imports.models import ImportJob, ImportStatus
from kehu.platform import housekeeping


@task()
def run_import_task(job_id: int) -> int:
    """Run (or resume) an import; returns the rows processed."""
    from kehu.dataio.imports.services import import_run

    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        return 0
    return import_run(job).processed_rows


def keep_days() -> int:
    value = getattr(settings, "KEHU_IMPORT_KEEP_DAYS", None) or os.environ.get("KEHU_IMPORT_KEEP_DAYS") or 30
    return int(value)


def remove_old_import_files() -> int:
    """Delete the stored files of imports that finished (done, failed or cancelled) more than
    ``KEHU_IMPORT_KEEP_DAYS`` (30) days ago; the jobs and their counts stay. Returns how many."""
    from kehu.dataio.imports.services import delete_job_files

    cutoff = timezone.now() - datetime.timedelta(days=keep_days())
    removed = 0
    finished = ImportJob.objects.filter(
        status__in=[ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.CANCELLED, ImportStatus.NEW],
    ).exclude(file="")
    old = finished.filter(finished_at__lt=cutoff) | finished.filter(finished_at__isnull=True, created_at__lt=cutoff)
    for job in old:
        if delete_job_files(job):
            removed += 1
        ImportJob.objects.filter(pk=job.pk).update(file="")
    return removed


@task()
def sweep_import_files() -> int:
    return remove_old_import_files()


housekeeping.register("import_files", sweep_import_files)
