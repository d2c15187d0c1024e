"""Scheduled backups: a housekeeping sweep (queued by ``kehu worker`` when it starts and by
``kehu scheduler`` every hour, run by ``kehu housekeeping``) that makes a backup when the newest archive is older than
``KEHU_BACKUP_INTERVAL_HOURS`` and keeps the newest ``KEHU_BACKUP_KEEP``."""

from __future__ import annotations

from django_tasks import task

from kehu.dataio.backup.services import backup_sweep
from kehu.platform import housekeeping


@task()
def scheduled_backup() -> str:
    return backup_sweep()


housekeeping.register("backup", scheduled_backup)
