"""The record-type registry: a record type is a declaration, and the platform gives it a
list, filters, detail with history, forms, trash, an API router and audit (STYLE.md, NetBox)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from django.db import models
from django.urls import reverse
from django.utils.text import capfirst

if TYPE_CHECKING:
    from kehu.platform.context import Context
    from kehu.platform.forms import RecordForm
    from kehu.platform.models import BaseRecord


def related_model(field: models.ForeignKey | models.ManyToManyField) -> type[models.Model]:
    """The model a foreign key (or many-to-many field) points to (resolved once the app
    registry is ready)."""
    return cast("type[models.Model]", field.related_model)


@dataclass(frozen=True)
class Child:
    """Records that live inside a parent: deleted and restored with it (contacts of a customer)."""

    key: str
    fk: str


@dataclass(frozen=True)
class Panel:
    """A box on a record's page loaded with htmx from ``url_name`` (reversed with the record's
    primary key): a customer's open tasks, its lifecycle, later its receivables. Added by the
    module that owns the content with ``registry.add_panel``."""

    key: str
    title: Any
    url_name: str
    icon: str = "ti-layout"
    visible: Callable[[Any], bool] = lambda user: True
    # htmx events (sent by other parts of the page) that reload it, e.g. "kehu:tasks-changed".
    refresh_on: str = ""
    order: int = 100  # panels show in this order, then in the order they were added


@dataclass(frozen=True)
class BulkAction:
    """A further button on a list's bulk bar (the customers' "Reassign"): it posts the ticked
    rows' ``ids`` (and ``next``, the list's URL with its filters) to ``url_name``. Shown to
    users who hold every Django permission in ``permissions``. Added by the module that owns
    the action with ``registry.add_bulk_action``."""

    key: str
    label: Any
    url_name: str
    permissions: tuple[str, ...] = ()
    icon: str = "ti-bolt"


@dataclass(frozen=True)
class ListLink:
    """A further button in a list page's header leading to a page of the same records (the
    opportunities' "Board" and "Forecast"): ``url_name`` is reversed without arguments."""

    label: Any
    url_name: str
    icon: str = "ti-link"


@dataclass(frozen=True)
class NavLink:
    """A page listed in a navigation menu next to the record types' lists."""

    group: str
    key: str
    label: Any
    url_name: str
    icon: str = "ti-point"
    visible: Callable[[Any], bool] = lambda user: True


@dataclass
class NavItem:
    label: str
    href: str
    icon: str
    key: str
    active: bool = False


@dataclass
class NavGroup:
    key: str
    label: str
    items: list[NavItem] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return any(item.active for item in self.items)


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
    # Writable when a record is created, read-only afterwards (changed by a domain service
    # only: a customer's lifecycle stage); returned by the API like ``fields``.
    create_only: list[str] = field(default_factory=list)
    # Columns a user may add to a list (defaults to list_columns + fields).
    column_choices: list[str] = field(default_factory=list)
    # Visibility follows a parent record through this foreign key (contacts follow customers).
    visibility_via: str = ""
    # Every user who may view the type sees every row (a catalogue: products), whoever owns it.
    shared: bool = False
    children: list[Child] = field(default_factory=list)
    ordering: str = "-updated_at"
    # Domain rules run inside the service transaction before validation.
    prepare: Callable[[Any, Context, bool], None] | None = None
    # Domain side effects inside the same transaction, after the record is written.
    after_save: Callable[[Any, Context, bool], None] | None = None
    # The same for many new records at once (``record_bulk_create``: imports), in a few
    # queries; without it ``after_save`` runs for each record.
    after_bulk_create: Callable[[list[Any], Context], None] | None = None
    # Runs before records go to the trash (single and bulk); raises ValidationError to refuse
    # them all (a product used on order lines is archived, not deleted).
    before_delete: Callable[[list[Any], Context], None] | None = None
    # Related-object lookups for lists and detail (select_related names).
    select_related: list[str] = field(default_factory=list)
    # Related rows fetched in one further query for lists and detail (prefetch_related names).
    prefetch_related: list[str] = field(default_factory=list)
    # Further read-only fields of the API output: {name: (type, pydantic Field)}, read from the
    # record's attributes (a product's "prices", from its prefetched price rows).
    api_out: dict[str, Any] = field(default_factory=dict)
    icon: str = "ti-file"
    # Its detail page shows the timeline (platform/timeline.py) and uses this template if set.
    timeline: bool = False
    detail_template: str = ""
    # More for that template: detail_context(request, obj) -> dict; panels added by modules.
    detail_context: Callable[[Any, Any], dict[str, Any]] | None = None
    panels: list[Panel] = field(default_factory=list)
    # Shown in the top navigation (records that live inside another, like needs, are not).
    in_nav: bool = True
    # The navigation menu it is listed under (defaults to its permission area).
    nav_group: str = ""
    # Fields only the record type's hooks set (a task's completed_at): audited, written by
    # the update and shown by the API, never writable by callers.
    system_fields: list[str] = field(default_factory=list)
    # Further list filters by name (web and API), e.g. a date range: {"due_before": Filter}.
    extra_filters: dict[str, Any] = field(default_factory=dict)
    # Further buttons on the list's bulk bar (see BulkAction).
    bulk_actions: list[BulkAction] = field(default_factory=list)
    # Further buttons in the list page's header (see ListLink).
    list_links: list[ListLink] = field(default_factory=list)

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
        self._nav_links: list[NavLink] = []
        self._group_labels: dict[str, Any] = {}

    def register(self, record_type: RecordType) -> RecordType:
        if record_type.key in self._types:
            raise ValueError(f"record type {record_type.key!r} is already registered")
        self._types[record_type.key] = record_type
        return record_type

    def add_child(self, parent_key: str, child: Child) -> None:
        """Declare from the child's app that its records live inside ``parent_key`` records
        (deleted and restored with them, shown as a tab on their page)."""
        self._types[parent_key].children.append(child)

    def add_panel(self, parent_key: str, panel: Panel) -> None:
        """Show ``panel`` on the pages of ``parent_key`` records."""
        panels = self._types[parent_key].panels
        panels.append(panel)
        panels.sort(key=lambda p: p.order)  # stable: equal orders keep their registration order

    def add_bulk_action(self, key: str, action: BulkAction) -> None:
        """Offer ``action`` on the bulk bar of ``key`` records' list (once)."""
        actions = self._types[key].bulk_actions
        if all(existing.key != action.key for existing in actions):
            actions.append(action)

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

    def add_nav_link(self, link: NavLink) -> None:
        """List a page that is not a record type's list (the pipeline board, receivables) in
        the navigation menu ``link.group``."""
        self._nav_links.append(link)

    def name_group(self, group: str, label: Any) -> None:
        """The name people read for a navigation menu or permission area (``sales``: Sales)."""
        self._group_labels[group] = label

    def navigation(self, user: Any, path: str = "") -> list[NavGroup]:
        """The menus of the top bar as ``user`` may use them: one per group, in the order the
        groups first appear; record types' lists first, then the other pages; the items whose
        page ``path`` is in are active."""
        from kehu.platform.access import can

        groups: dict[str, NavGroup] = {}
        listed = [rt for rt in self if rt.in_nav and can(user, rt, "view")]
        # a menu lists its own area's types first, then those it borrows (products under Sales)
        for rt in sorted(listed, key=lambda rt: bool(rt.nav_group) and rt.nav_group != rt.area):
            key = rt.nav_group or rt.area
            group = groups.setdefault(key, NavGroup(key, self.area_label(key)))
            group.items.append(NavItem(capfirst(str(rt.label_plural)), f"/{rt.plural}/", rt.icon, rt.key))
        for link in self._nav_links:
            if link.visible(user):
                group = groups.setdefault(link.group, NavGroup(link.group, self.area_label(link.group)))
                group.items.append(NavItem(capfirst(str(link.label)), reverse(link.url_name), link.icon, link.key))
        for group in groups.values():
            for item in group.items:
                item.active = bool(path) and path.startswith(item.href)
        return list(groups.values())

    def areas(self) -> list[str]:
        return sorted({rt.area for rt in self})

    def area_label(self, area: str) -> str:
        """An area's name for people: the name given with ``name_group``, or the plural label of
        its main record type (customers)."""
        if area in self._group_labels:
            return capfirst(str(self._group_labels[area]))
        main = self.by_plural(area) or next((rt for rt in self if rt.area == area), None)
        return capfirst(str(main.label_plural)) if main is not None else area


registry = Registry()
register = registry.register
