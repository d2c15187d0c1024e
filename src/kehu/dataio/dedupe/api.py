"""``/api/v1/duplicates/`` and ``/api/v1/merges/``: the review queue, scans, merge, dismiss and
undo through the dedupe services (errors as problem+json: 404 for a pair or merge the caller
may not see, 403 without the permission, 422 for a bad choice or a refused undo).

No ``from __future__ import annotations``: django-ninja reads the endpoint annotations."""

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from kehu.dataio.dedupe import selectors, services, tasks
from kehu.dataio.dedupe.models import CandidateStatus
from kehu.platform.api import MAX_LIMIT, api_context, json_response
from kehu.platform.records import registry


class RecordRef(Schema):
    id: int
    number: str
    name: str


class Reason(Schema):
    code: str = Field(..., description="same_phone, same_email, same_name, pinyin or similar_name.")
    text: str


class DuplicateOut(Schema):
    id: int
    record_type: str
    score: int = Field(..., description="0–100.")
    reasons: list[Reason]
    status: str = Field(..., description="open, dismissed or merged.")
    found_at: datetime.datetime
    left: RecordRef
    right: RecordRef


class DuplicateList(Schema):
    items: list[DuplicateOut]
    count: int


class DuplicateFilters(Schema):
    record_type: str | None = Field(None, description="customer, contact, …")
    status: str = Field(CandidateStatus.OPEN, description="open, dismissed or merged.")
    min_score: int | None = Field(None, ge=0, le=100)
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0)


class ScanIn(Schema):
    record_types: list[str] | None = Field(None, description="Default: customer and contact.")


class ScanOut(Schema):
    queued: list[str]


class MergeIn(Schema):
    survivor: int | None = Field(None, description="The id of the record that stays (default: the older one).")
    choices: dict[str, str] = Field(
        default_factory=dict,
        description='Per differing field (custom fields as "custom.<key>"): "survivor" or "loser". '
        "Default: the survivor's value, or the loser's where the survivor's is blank.",
    )


class MergeOut(Schema):
    id: int
    record_type: str
    survivor: int
    loser: int
    survivor_number: str
    loser_number: str
    moved: dict[str, list[int]] = Field(..., description='Ids of the moved records per "<app>.<Model>.<field>".')
    created_at: datetime.datetime
    undone_at: datetime.datetime | None


class UndoIn(Schema):
    force: bool = Field(False, description="Undo even if the survivor changed since the merge.")


def _merge_out(merge: Any) -> dict[str, Any]:
    return MergeOut(
        id=merge.pk,
        record_type=merge.record_type,
        survivor=merge.survivor_id,
        loser=merge.loser_id,
        survivor_number=merge.survivor_number,
        loser_number=merge.loser_number,
        moved=merge.moved,
        created_at=merge.created_at,
        undone_at=merge.undone_at,
    ).model_dump(mode="json")


def _ref(obj: Any) -> RecordRef:
    return RecordRef(id=obj.pk, number=obj.number, name=str(getattr(obj, "name", "") or ""))


def _dump(candidates: list[Any]) -> list[dict[str, Any]]:
    records = selectors.records_of(candidates)
    return [
        DuplicateOut(
            id=c.pk,
            record_type=c.record_type,
            score=c.score,
            reasons=c.reasons,
            status=c.status,
            found_at=c.found_at,
            left=_ref(records[(c.record_type, c.left_id)]),
            right=_ref(records[(c.record_type, c.right_id)]),
        ).model_dump(mode="json")
        for c in candidates
    ]


router = Router(tags=["duplicates"])


@router.get("/duplicates/", response=DuplicateList, summary="List likely duplicates", operation_id="duplicate_list")
def list_duplicates(request: HttpRequest, filters: Query[DuplicateFilters]) -> Any:
    ctx = api_context(request)
    if filters.record_type and registry.get(filters.record_type) is None:
        raise ValidationError({"record_type": "Unknown record type."})
    queryset = selectors.candidates_for(
        ctx, record_type=filters.record_type, status=filters.status, min_score=filters.min_score
    )
    page = list(queryset[filters.offset : filters.offset + filters.limit])
    return json_response(200, {"items": _dump(page), "count": queryset.count()})


@router.post("/duplicates/scan/", response={202: ScanOut}, summary="Scan for duplicates", operation_id="duplicate_scan")
def scan(request: HttpRequest, payload: ScanIn) -> Any:
    ctx = api_context(request)
    unknown = [key for key in payload.record_types or [] if registry.get(key) is None]
    if unknown:
        raise ValidationError({"record_types": f"Unknown record type: {', '.join(unknown)}."})
    return json_response(202, {"queued": tasks.scan_start(ctx=ctx, record_types=payload.record_types)})


@router.post("/duplicates/{int:pk}/merge/", response=MergeOut, summary="Merge a pair", operation_id="duplicate_merge")
def merge(request: HttpRequest, pk: int, payload: MergeIn) -> Any:
    ctx = api_context(request)
    candidate = selectors.candidate_get(ctx, pk)
    done = services.candidate_merge(ctx=ctx, candidate=candidate, survivor_id=payload.survivor, choices=payload.choices)
    return json_response(200, _merge_out(done))


@router.post(
    "/duplicates/{int:pk}/dismiss/",
    response=DuplicateOut,
    summary="Mark a pair not duplicates",
    operation_id="duplicate_dismiss",
)
def dismiss(request: HttpRequest, pk: int) -> Any:
    ctx = api_context(request)
    candidate = services.candidate_dismiss(ctx=ctx, candidate=selectors.candidate_get(ctx, pk))
    return json_response(200, _dump([candidate])[0])


@router.post("/merges/{int:pk}/undo/", response=MergeOut, summary="Undo a merge", operation_id="merge_undo")
def undo(request: HttpRequest, pk: int, payload: UndoIn) -> Any:
    ctx = api_context(request)
    merge = services.merge_undo(ctx=ctx, merge=selectors.merge_get(ctx, pk), force=payload.force)
    return json_response(200, _merge_out(merge))
