"""``/api/v1/tags/``: list, get, create, patch and delete tags through the tag services.

Reading: any authenticated caller sees the shared tags and those of the record types it may
view (token scopes included). Writing needs the ``platform.<action>_tag`` permission and, with
a token, the write scope of the tag's area (``customers:write`` for a customer tag) or the
plain ``write`` scope for a shared tag, which spans every area.

No ``from __future__ import annotations``: django-ninja reads the endpoint annotations."""

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from kehu.platform import tags as record_tags
from kehu.platform.api import MAX_LIMIT, api_context, create_idempotent, json_response


class TagOut(Schema):
    id: int
    name: str = Field(..., description="Unique (ignoring case) among the tags usable on a record type.")
    color: str = Field(..., description="#rrggbb")
    record_type: str = Field(..., description="The record type it is for (customer, contact, …); empty: every type.")
    created_at: datetime.datetime


class TagList(Schema):
    items: list[TagOut]
    count: int


class TagCreate(Schema):
    name: str = Field(..., description="1–50 characters, no comma.")
    color: str | None = Field(None, description="#rrggbb; default #206bc4.")
    record_type: str = Field("", description="A record type key for a tag of that type only; empty: every type.")


class TagPatch(Schema):
    name: str | None = Field(None, description="A new name.")
    color: str | None = Field(None, description="A new colour, #rrggbb.")
    record_type: str | None = Field(
        None, description="Share with every type (empty), or keep to the one type it is used on."
    )


class TagFilters(Schema):
    limit: int = Field(100, ge=1, le=MAX_LIMIT, description="Page size.")
    offset: int = Field(0, ge=0, description="Rows to skip.")
    record_type: str | None = Field(
        None, description="Only tags that can be put on this record type (its own and the shared ones)."
    )
    q: str | None = Field(None, description="Part of the name.")


def _dump(tag: Any) -> dict[str, Any]:
    return TagOut.model_validate(tag, from_attributes=True).model_dump(mode="json")


router = Router(tags=["tags"])


@router.get("/", response=TagList, summary="List tags", operation_id="tag_list")
def list_tags(request: HttpRequest, filters: Query[TagFilters]) -> Any:
    ctx = api_context(request)
    queryset = record_tags.tags_visible(ctx, record_type=filters.record_type, q=filters.q or "")
    page = queryset[filters.offset : filters.offset + filters.limit]
    return json_response(200, {"items": [_dump(tag) for tag in page], "count": queryset.count()})


@router.get("/{int:pk}/", response=TagOut, summary="Get a tag", operation_id="tag_get")
def get_tag(request: HttpRequest, pk: int) -> Any:
    return json_response(200, _dump(record_tags.tag_get(api_context(request), pk)))


@router.post("/", response={201: TagOut}, summary="Create a tag", operation_id="tag_create")
def create_tag(request: HttpRequest, payload: TagCreate) -> Any:
    ctx = api_context(request)
    data = payload.model_dump()

    def create() -> dict[str, Any]:
        return _dump(record_tags.tag_create(ctx, **data))

    key = request.headers.get("Idempotency-Key", "").strip()
    if key:
        return create_idempotent(request, key[:255], create)
    return json_response(201, create())


@router.patch("/{int:pk}/", response=TagOut, summary="Rename or recolour a tag", operation_id="tag_patch")
def patch_tag(request: HttpRequest, pk: int, payload: TagPatch) -> Any:
    ctx = api_context(request)
    tag = record_tags.tag_get(ctx, pk)
    return json_response(200, _dump(record_tags.tag_update(ctx, tag, **payload.model_dump(exclude_unset=True))))


@router.delete(
    "/{int:pk}/",
    response={204: None},
    summary="Delete a tag (it is taken off every record)",
    operation_id="tag_delete",
)
def delete_tag(request: HttpRequest, pk: int) -> Any:
    ctx = api_context(request)
    record_tags.tag_delete(ctx, record_tags.tag_get(ctx, pk))
    return Status(204, None)
