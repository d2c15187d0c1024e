"""``GET /api/v1/search/?q=``: the global search (``platform/search/``) over HTTP.

Searches the record types the caller may view, narrowed by the token's scopes (a token with
``customers:read`` searches customers and contacts only), and answers the hits grouped by
record type, each group with its count.

No ``from __future__ import annotations``: django-ninja reads the endpoint annotations."""

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from kehu.platform import search as global_search
from kehu.platform.api import api_context, json_response

MAX_SEARCH_LIMIT = 50


class SearchItem(Schema):
    id: int
    number: str
    title: str = Field(..., description="The record's name (its title field).")
    url: str = Field(..., description="The record's page in the web interface.")
    snippet: str = Field(..., description="A piece of the record's other text around the match, or its beginning.")


class SearchGroup(Schema):
    type: str = Field(..., description="The record type key (customer, contact, …).")
    label: str = Field(..., description="The record type's name, in the caller's language.")
    count: int = Field(..., description="How many records of this type match (a lower bound when capped).")
    capped: bool = Field(
        ...,
        description=(
            f"More than {global_search.CANDIDATE_LIMIT} records matched: the most recently changed ones were "
            "ranked and count is a lower bound. Type more to narrow the search."
        ),
    )
    items: list[SearchItem]


class SearchResult(Schema):
    q: str
    groups: list[SearchGroup]


class SearchParams(Schema):
    q: str = Field(
        ...,
        description=(
            f"What to find, 1–{global_search.MAX_QUERY_LENGTH} characters: part of a name, number, address or note "
            "(every word must match); a Chinese name also by pinyin (zhangsan, zs); a phone number or email "
            "address as a whole, in any format."
        ),
    )
    type: str | None = Field(
        None, description="Only these record types, comma-separated (customer,contact); default: every type."
    )
    limit: int = Field(10, ge=1, le=MAX_SEARCH_LIMIT, description="Items per record type.")


router = Router(tags=["search"])


@router.get("/", response=SearchResult, summary="Search every record type", operation_id="search")
def search(request: HttpRequest, params: Query[SearchParams]) -> Any:
    ctx = api_context(request)
    types = [key.strip() for key in params.type.split(",") if key.strip()] if params.type else None
    groups = global_search.search(ctx, params.q, types=types, limit=params.limit)
    body = {
        "q": params.q,
        "groups": [
            {
                "type": group.rt.key,
                "label": str(group.rt.label_plural),
                "count": group.count,
                "capped": group.capped,
                "items": [
                    {"id": hit.id, "number": hit.number, "title": hit.title, "url": hit.url, "snippet": hit.snippet}
                    for hit in group.hits
                ],
            }
            for group in groups
        ],
    }
    return json_response(200, body)
