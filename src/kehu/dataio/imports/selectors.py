"""Reading imports: a user sees their own jobs; administrators see every job."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from kehu.dataio.imports.models import ImportJob
from kehu.platform.errors import NotVisible


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
