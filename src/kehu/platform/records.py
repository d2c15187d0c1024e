"""The record-type registry: a record type is a declaration, and the platform gives it a
list, filters, detail with history, forms, trash, an API router and audit (STYLE.md, NetBox)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from django.db import models
from django.utils.text import capfirst

if TYPE_CHECKING:
    from kehu.platform.context import Context
    from kehu.platform.forms import RecordForm
    from kehu.platform.models import BaseRecord


def related_model(field: models.ForeignKey) -> type[models.Model]:
    """The model a foreign key points to (resolved once the app registry is ready)."""
    return cast("type[models.Model]", field.related_model)


@dataclass(frozen=True)
class Child:
    """Records that live inside a parent: deleted and restored with it (contacts of a customer)."""

    key: str
    fk: str


@dataclass
class RecordType:
    model: type[BaseRecord]
    key: str
    plural: str
    number_prefix: str
    area: str
    list_columns: list[str]
    form: type[RecordForm]
    filter_fields: list[str] = field(default_factory=list)
    search_fields: list[str] = field(default_factory=list)
    # The global search (platform/search/) indexes the search fields (encrypted ones only
    # through their blind index), these further text fields (notes, address parts: too long
    # for the lists' simple search), the record's active text custom fields and the title of
    # the record ``search_parent`` points to (a contact is found by its customer's name).
    # ``search_title`` names the field shown as a result's title, ranked first and indexed in
    # pinyin too.
    search_extra: list[str] = field(default_factory=list)
    search_title: str = "name"
    search_parent: str = ""
    sortable: list[str] = field(default_factory=list)
    bulk_fields: list[str] = field(default_factory=list)
    # Writable through the API and services (form fields and owner/team included).
    fields: list[str] = field(default_factory=list)
    # Columns a user may add to a list (defaults to list_columns + fields).
    column_choices: list[str] = field(default_factory=list)
    # Visibility follows a parent record through this foreign key (contacts follow customers).
    visibility_via: str = ""
    children: list[Child] = field(default_factory=list)
    ordering: str = "-updated_at"
    # Domain rules run inside the service transaction before validation.
    prepare: Callable[[Any, Context, bool], None] | None = None
    # Domain side effects inside the same transaction, after the record is written.
    after_save: Callable[[Any, Context, bool], None] | None = None
    # Related-object lookups for lists and detail (select_related names).
    select_related: list[str] = field(default_factory=list)
    icon: str = "ti-file"

    @property
    def label(self) -> Any:
        return self.model._meta.verbose_name

    @property
    def label_plural(self) -> Any:
        return self.model._meta.verbose_name_plural

    @property
    def app_label(self) -> str:
        return self.model._meta.app_label

    def model_field(self, name: str) -> models.Field:
        """The concrete model field ``name`` (raises FieldDoesNotExist)."""
        return cast("models.Field", self.model._meta.get_field(name))

    def perm(self, action: str) -> str:
        """The Django permission for ``action`` (view, add, change, delete) on this type."""
        return f"{self.app_label}.{action}_{self.model._meta.model_name}"

    def all_columns(self) -> list[str]:
        seen: dict[str, None] = dict.fromkeys(
            self.column_choices or [*self.list_columns, *self.fields, "created_at", "updated_at"]
        )
        seen.setdefault("tags")  # every record type has tags (platform/tags.py)
        return list(seen)


class Registry:
    def __init__(self) -> None:
        self._types: dict[str, RecordType] = {}

    def register(self, record_type: RecordType) -> RecordType:
        if record_type.key in self._types:
            raise ValueError(f"record type {record_type.key!r} is already registered")
        self._types[record_type.key] = record_type
        return record_type

    def __getitem__(self, key: str) -> RecordType:
        return self._types[key]

    def __iter__(self) -> Iterator[RecordType]:
        return iter(self._types.values())

    def get(self, key: str) -> RecordType | None:
        return self._types.get(key)

    def by_plural(self, plural: str) -> RecordType | None:
        return next((rt for rt in self if rt.plural == plural), None)

    def for_model(self, model: type[models.Model]) -> RecordType:
        found = self.for_model_or_none(model)
        if found is None:
            raise KeyError(model)
        return found

    def for_model_or_none(self, model: type[models.Model]) -> RecordType | None:
        concrete = model._meta.concrete_model
        return next((rt for rt in self if rt.model is model or rt.model._meta.concrete_model is concrete), None)

    def areas(self) -> list[str]:
        return sorted({rt.area for rt in self})

    def area_label(self, area: str) -> str:
        """An area's name for people: the plural label of its main record type (customers)."""
        main = self.by_plural(area) or next((rt for rt in self if rt.area == area), None)
        return capfirst(str(main.label_plural)) if main is not None else area


registry = Registry()
register = registry.register
