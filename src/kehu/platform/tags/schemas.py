"""``tags`` in every record type's API schemas and list parameters."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator
from pydantic import Field as PydanticField

from kehu.platform.tags.services import sorted_names

# ---------------------------------------------------------------- API schemas


def _names_of(value: Any) -> Any:
    """A record's tags (its manager, or the list django-ninja makes of it; prefetched in
    lists) as sorted names."""
    if hasattr(value, "all"):
        value = value.all()
    if isinstance(value, Iterable) and not isinstance(value, str):
        return sorted_names(getattr(item, "name", item) for item in value)
    return value


TagNames = Annotated[list[str], BeforeValidator(_names_of)]


def add_api_fields(out: dict[str, Any], create: dict[str, Any], patch: dict[str, Any]) -> None:
    """``tags`` in a record type's API schemas: names out (sorted); names in, replacing the
    record's tags (a new name creates a tag when the caller may add tags)."""
    out["tags"] = (TagNames, PydanticField(default_factory=list, description="The record's tag names, sorted."))
    described = PydanticField(
        None,
        description=(
            "Tag names; replaces the record's tags ([] or null: none). A name not yet used on this "
            "record type creates a tag when the caller may add tags, else 422."
        ),
    )
    create["tags"] = (list[str] | None, described)
    patch["tags"] = (list[str] | None, described)


def api_filter_fields() -> dict[str, Any]:
    """The ``tags`` and ``tags_match`` query parameters of every record list."""
    return {
        "tags": (
            str | None,
            PydanticField(None, description="Comma-separated tag names; records with any of them (see tags_match)."),
        ),
        "tags_match": (
            Literal["any", "all"] | None,
            PydanticField(
                None, description="any (default): records with at least one of the tags; all: with every one."
            ),
        ),
    }
