"""Custom fields: fields an admin adds to any record type without code (``CustomField``), with
values in each record's ``custom`` JSON.

Every registered record type gets them through the spine: the services validate and audit
them (``values_applied``, ``snapshot``), record forms show them (``forms``), the list offers
them as columns and filters (``column_keys``, ``add_filters``), the detail page and the CSV
export show them (``display``), the API carries and describes them (``openapi``) and the
search reads their text (``search_text``). Definitions are managed in ``services`` and on the
settings page (``views``).
"""

from __future__ import annotations

from kehu.platform.customfields.definitions import (
    PREFIX,
    Kind,
    all_definitions,
    by_name,
    cached,
    column_keys,
    definition_for_key,
    definitions,
    invalidate,
    sections,
)
from kehu.platform.customfields.display import (
    attach_refs,
    column_label,
    column_value,
    detail_sections,
    format_value,
    history_change,
    iter_with_refs,
)
from kehu.platform.customfields.filters import (
    PARAM_PREFIX,
    add_filters,
    filter_params,
    search_q,
    search_text,
)
from kehu.platform.customfields.values import apply_values, clean_value, snapshot, values_applied


def is_custom(name: str) -> bool:
    """Is ``name`` a custom value's key (``custom.<name>``) in a diff, column or error?"""
    return name.startswith(PREFIX)


__all__ = [
    "PARAM_PREFIX",
    "PREFIX",
    "Kind",
    "add_filters",
    "all_definitions",
    "apply_values",
    "attach_refs",
    "by_name",
    "cached",
    "clean_value",
    "column_keys",
    "column_label",
    "column_value",
    "definition_for_key",
    "definitions",
    "detail_sections",
    "filter_params",
    "format_value",
    "history_change",
    "invalidate",
    "is_custom",
    "iter_with_refs",
    "search_q",
    "search_text",
    "sections",
    "snapshot",
    "values_applied",
]
