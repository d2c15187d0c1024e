"""Reading the review queue: the pairs a user may see both records of."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from kehu.dataio.dedupe.finder import dedupable_types
from kehu.dataio.dedupe.models import CandidateStatus, DuplicateCandidate, Merge
from kehu.platform.access import can, visible_to
from kehu.platform.errors import NotVisible
from kehu.platform.records import RecordType, registry


def reviewable_types(actor: Any) -> list[RecordType]:
    """The record types whose pairs ``actor`` (a user, or a Context with its API token) may
    review (view permission)."""
    return [rt for rt in dedupable_types() if can(actor, rt, "view")]


def candidates_for(
    actor: Any,
    *,
    record_type: str | None = None,
    status: str | None = CandidateStatus.OPEN,
    min_score: int | None = None,
) -> QuerySet[DuplicateCandidate]:
    """The pairs whose two records ``actor`` may see (neither in the trash), highest score first."""
    user = getattr(actor, "user", actor)
    condition = Q(pk__in=[])
    for rt in reviewable_types(actor):
        if record_type and rt.key != record_type:
            continue
        visible = visible_to(user, rt.model.objects.all(), rt).values("pk")
        condition |= Q(record_type=rt.key, left_id__in=visible, right_id__in=visible)
    queryset = DuplicateCandidate.objects.filter(condition)
    if status:
        queryset = queryset.filter(status=status)
    if min_score is not None:
        queryset = queryset.filter(score__gte=min_score)
    return queryset.order_by("-score", "id")


def candidate_get(actor: Any, pk: Any, *, status: str | None = None) -> DuplicateCandidate:
    """A pair ``actor`` may see both records of; raises NotVisible."""
    try:
        return candidates_for(actor, status=status).get(pk=int(pk))
    except (DuplicateCandidate.DoesNotExist, ValueError, TypeError):
        raise NotVisible from None


def records_of(candidates: list[DuplicateCandidate]) -> dict[tuple[str, int], Any]:
    """The records the pairs name, one query per record type: ``{(type, pk): record}``."""
    wanted: dict[str, set[int]] = {}
    for candidate in candidates:
        wanted.setdefault(candidate.record_type, set()).update((candidate.left_id, candidate.right_id))
    found: dict[tuple[str, int], Any] = {}
    for key, pks in wanted.items():
        rt = registry[key]
        for obj in rt.model.all_objects.filter(pk__in=pks).select_related(*rt.select_related):
            found[(key, obj.pk)] = obj
    return found


def merges_for(actor: Any, *, record_type: str | None = None) -> QuerySet[Merge]:
    """Merges whose survivor ``actor`` may see (the merged record is in the trash)."""
    user = getattr(actor, "user", actor)
    condition = Q(pk__in=[])
    for rt in reviewable_types(actor):
        if record_type and rt.key != record_type:
            continue
        visible = visible_to(user, rt.model.all_objects.all(), rt).values("pk")
        condition |= Q(record_type=rt.key, survivor_id__in=visible)
    return Merge.objects.filter(condition).order_by("-created_at", "-id")


def merge_get(actor: Any, pk: Any) -> Merge:
    try:
        return merges_for(actor).get(pk=int(pk))
    except (Merge.DoesNotExist, ValueError, TypeError):
        raise NotVisible from None
