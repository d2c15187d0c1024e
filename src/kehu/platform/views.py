"""The generic web views of the spine: every registered record type gets a list (filters,
search, sort, pagination, saved views, column choice, bulk edit and delete, CSV export),
a detail page with its history, create and edit forms, and a trash. Views are thin: reads
through selectors, writes through services."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from kehu.platform import customfields, display, selectors, services, timeline
from kehu.platform.access import can, visible_to
from kehu.platform.audit import history_for
from kehu.platform.context import Context
from kehu.platform.errors import NotVisible, StaleVersion
from kehu.platform.fields import EncryptedField, readable, seal_query, unseal_query
from kehu.platform.forms import RecordForm
from kehu.platform.models import SavedView
from kehu.platform.records import RecordType, registry

PAGE_SIZES = (25, 50, 100, 200)
# Parameters of a list URL that are not filters.
LIST_PARAMS = selectors.LIST_PARAMS  # kept here for the views that import it


def add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Show a service's validation errors on the form fields they name."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


class RecordView(LoginRequiredMixin, View):
    """Base for the generic views: knows its record type and the acting context."""

    rt: RecordType = None  # type: ignore[assignment]  # set by as_view(rt=...)

    @property
    def ctx(self) -> Context:
        return Context.from_request(self.request)

    def require(self, action: str) -> None:
        if not can(self.request.user, self.rt, action):
            raise PermissionDenied

    def get_object(self, pk: Any, *, include_deleted: bool = False) -> Any:
        try:
            return selectors.record_get(self.rt, user=self.request.user, pk=pk, include_deleted=include_deleted)
        except NotVisible:
            raise Http404 from None

    def url(self, name: str, *args: Any) -> str:
        return reverse(f"{self.rt.plural}_{name}", args=args)

    def permissions(self) -> dict[str, bool]:
        user = self.request.user
        return {action: can(user, self.rt, action) for action in ("view", "add", "change", "delete")}

    def base_context(self, **extra: Any) -> dict[str, Any]:
        return {"rt": self.rt, "perms_for": self.permissions(), **extra}


def table_rows(rows: list[Any], columns: list[str]) -> list[tuple[Any, SafeString]]:
    """A table's rows with their cells (``<td>``s) written here once, for the template to
    print: a page is 50 rows of ten cells, and the tags and conditions of a template per cell
    cost more than the values. The first column and the name link to the record, tags show
    as badges."""
    from kehu.platform.templatetags.tag_badges import badges

    kinds = ["tags" if c == "tags" else "link" if i == 0 or c == "name" else "text" for i, c in enumerate(columns)]
    table = []
    for obj in rows:
        url = obj.get_absolute_url()
        cells = []
        for position, (kind, column) in enumerate(zip(kinds, columns, strict=True)):
            td = '<td class="text-nowrap">' if position == 0 else "<td>"
            if kind == "tags":
                cells.append(format_html(td + "{}</td>", badges(obj.tags.all())))
            elif kind == "link":
                cells.append(format_html(td + '<a href="{}">{}</a></td>', url, display.display_value(obj, column)))
            else:
                cells.append(format_html(td + "{}</td>", display.display_value(obj, column)))
        table.append((obj, mark_safe("".join(cells))))  # noqa: S308  (each cell escaped above)
    return table


class RecordListView(RecordView):
    template_name = "platform/record_list.html"
    table_template = "platform/_record_table.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        self.require("view")
        rt = self.rt
        request.GET = unseal_query(request.GET)  # type: ignore[assignment]  # a saved view's sealed values
        query = selectors.list_query(rt, request.GET)
        filters, columns = query.filters, query.columns
        # The filter fields are rendered with the page only when filters are in use; otherwise
        # the panel fetches them when it is opened (RecordFiltersView): building and rendering
        # every field's choices is a quarter of a list page's time.
        filter_form = (
            selectors.filterset(rt, user=request.user, data=filters, queryset=rt.model.objects.none()).form
            if filters
            else None
        )
        try:
            queryset = selectors.list_rows(request.user, query)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            queryset = rt.model.objects.none()
        per_page = int(request.GET.get("per_page", 50)) if request.GET.get("per_page", "50").isdigit() else 50
        paginator = Paginator(queryset, per_page if per_page in PAGE_SIZES else 50)
        page = paginator.get_page(request.GET.get("page"))
        saved_views = SavedView.objects.filter(record_type=rt.key).filter(Q(user=request.user) | Q(shared=True))
        bulk_actions = [action for action in rt.bulk_actions if request.user.has_perms(action.permissions)]
        rows = customfields.attach_refs(rt, list(page.object_list), columns, request.user)  # names of users/links
        current_query = request.GET.copy()
        for key in ("page", "view"):
            current_query.pop(key, None)
        context = self.base_context(
            current_query=current_query.urlencode(),
            page=page,
            rows=rows,
            table=table_rows(rows, columns),
            columns=columns,
            all_columns=selectors.available_columns(rt),
            filter_form=filter_form,
            active_filters=len(filters),
            q=request.GET.get("q", ""),
            sort=request.GET.get("sort", ""),
            saved_views=saved_views,
            current_view=request.GET.get("view", ""),
            page_sizes=PAGE_SIZES,
            bulk_enabled=can(request.user, rt, "change") or can(request.user, rt, "delete") or bool(bulk_actions),
            bulk_actions=bulk_actions,
        )
        if getattr(request, "htmx", False) and request.htmx.target == "record-table":  # type: ignore[attr-defined]
            return render(request, self.table_template, context)
        return render(request, self.template_name, context)


class RecordFiltersView(RecordView):
    """The fields of a list's filter panel (fetched by the panel when it opens)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        self.require("view")
        request.GET = unseal_query(request.GET)  # type: ignore[assignment]
        filters = selectors.list_query(self.rt, request.GET).filters
        form = selectors.filterset(
            self.rt, user=request.user, data=filters or None, queryset=self.rt.model.objects.none()
        ).form
        return render(request, "platform/_record_filters.html", self.base_context(filter_form=form))


class RecordLookupView(RecordView):
    """The records a record picker offers for ``?q=`` (JSON: ``{"results": [{"id", "text",
    "number"}]}``), those the user may see."""

    def get(self, request: HttpRequest) -> HttpResponse:
        self.require("view")
        try:
            results = selectors.record_lookup(self.rt, user=request.user, q=request.GET.get("q", "").strip())
        except ValidationError as error:
            return JsonResponse({"detail": " ".join(error.messages)}, status=400)
        return JsonResponse({"results": results})


class RecordExportView(RecordListView):
    """The list as CSV (UTF-8 with BOM so Excel reads Chinese) or XLSX, with the same filters,
    visibility and columns; a long list becomes a background job; every export is audited
    (``kehu.dataio.exports``)."""

    def get(self, request: HttpRequest, fmt: str = "csv") -> HttpResponseBase:  # type: ignore[override]
        from kehu.dataio.exports.views import export_response  # dataio builds on the platform

        self.require("view")
        return export_response(request, self.rt, fmt)


CHILD_ROWS = 10  # rows of each related list on a detail page (the newest; a link shows all)


def related_list_url(obj: Any, child: Any, child_rt: RecordType) -> str:
    """The list of ``child_rt`` filtered to ``obj``'s records ("" when it has no such filter)."""
    if child.fk not in child_rt.filter_fields:
        return ""
    return f"{reverse(child_rt.plural + '_list')}?{child.fk}={obj.pk}"


class RecordDetailView(RecordView):
    template_name = "platform/record_detail.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        self.require("view")
        obj = self.get_object(pk)
        fields = [
            (display.field_label(self.rt, name), display.display_value(obj, name), name)
            for name in self.rt.fields
            if name not in ("owner", "team")  # shown with the record's metadata
        ]
        # Each related list is a tab of its own, fetched when opened (RecordRelatedView):
        # here only how many rows each has.
        children = []
        for child in self.rt.children:
            child_rt = registry[child.key]
            if not can(request.user, child_rt, "view"):
                continue
            children.append(
                {
                    "rt": child_rt,
                    "count": selectors.related_records(request.user, obj, child).count(),
                    "url": self.url("related", obj.pk, child_rt.plural),
                    "list_url": related_list_url(obj, child, child_rt),
                }
            )
        context = self.base_context(
            obj=obj,
            fields=fields,
            custom_sections=customfields.detail_sections(self.rt, obj, request.user),
            children=children,
            meta=[
                (_("Owner"), obj.owner),
                (_("Team"), obj.team or "—"),
                (_("Created at"), display.display_value(obj, "created_at")),
                (_("Last changed"), display.display_value(obj, "updated_at")),
                (_("Version"), obj.version),
            ],
        )
        context["side_panels"] = [
            {
                "key": panel.key,
                "title": panel.title,
                "icon": panel.icon,
                "url": reverse(panel.url_name, args=[obj.pk]),
                "refresh_on": panel.refresh_on,
            }
            for panel in self.rt.panels
            if panel.visible(request.user)
        ]
        if self.rt.detail_context is not None:
            context.update(self.rt.detail_context(request, obj))
        return render(request, self.rt.detail_template or self.template_name, context)


def readable_change(model: Any, name: str, value: Any) -> str:
    """A value from an audit entry's ``changes`` as a person reads it."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):  # tags: sorted names
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict) and "repr" in value:
        return str(value["repr"])
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    try:
        field = model._meta.get_field(name)
    except Exception:
        return str(value)
    if isinstance(field, EncryptedField):
        return readable(field, value) or "—"  # a token; a placeholder when it does not decrypt
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    return str(value)


def history_rows(entries: Any) -> list[dict[str, Any]]:
    """Audit entries with readable changes: field labels, choice labels, related names."""
    rows = []
    for entry in entries:
        model = entry.content_type.model_class() if entry.content_type_id else None
        changes = []
        for name, pair in entry.changes.items():
            if customfields.is_custom(name):  # custom.<name>: the field's label, values formatted
                changes.append(customfields.history_change(model, name, pair[0], pair[1]))
                continue
            label = str(model._meta.get_field(name).verbose_name) if model and display.has_field(model, name) else name
            changes.append((label, readable_change(model, name, pair[0]), readable_change(model, name, pair[1])))
        rows.append({"entry": entry, "changes": changes})
    return rows


class RecordHistoryView(RecordView):
    template_name = "platform/record_history.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        self.require("view")
        obj = self.get_object(pk, include_deleted=True)
        rows = history_rows(history_for(obj).select_related("content_type")[:500])
        template = "platform/_record_history.html" if getattr(request, "htmx", False) else self.template_name
        return render(request, template, self.base_context(obj=obj, history=rows))


class RecordRelatedView(RecordView):
    """One related list of a record's page (htmx partial, the tab's content): the newest
    ``CHILD_ROWS`` records of the child type the user may see, and a link to the whole list
    (a big account has thousands of interactions)."""

    template_name = "platform/_record_related.html"

    def get(self, request: HttpRequest, pk: int, child: str) -> HttpResponse:
        self.require("view")
        obj = self.get_object(pk)
        found = next((c for c in self.rt.children if registry[c.key].plural == child), None)
        if found is None:
            raise Http404
        child_rt = registry[found.key]
        if not can(request.user, child_rt, "view"):
            raise PermissionDenied
        shown = list(selectors.related_records(request.user, obj, found)[: CHILD_ROWS + 1])
        columns = [c for c in child_rt.list_columns if c != found.fk]
        context = self.base_context(
            obj=obj,
            child={
                "rt": child_rt,
                "fk": found.fk,
                "columns": columns,
                "table": table_rows(shown[:CHILD_ROWS], columns),
                "more_url": related_list_url(obj, found, child_rt) if len(shown) > CHILD_ROWS else "",
                "can_add": can(request.user, child_rt, "add"),
            },
        )
        return render(request, self.template_name, context)


class RecordTimelineView(RecordView):
    """A page of a record's timeline (htmx partial): ``kind`` filters (repeatable), ``cursor``
    asks for the entries after the previous page (appended by the "more" button)."""

    template_name = "platform/_timeline.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        self.require("view")
        if not self.rt.timeline:
            raise Http404
        obj = self.get_object(pk)
        subject = (self.rt.key, obj.pk)
        selected = [kind for kind in request.GET.getlist("kind") if kind]
        cursor = request.GET.get("cursor", "")
        page = timeline.entries_for(request.user, subject, kinds=selected, cursor=cursor)
        context = self.base_context(
            obj=obj,
            entries=timeline_rows(page.entries),
            next_cursor=page.next_cursor,
            kinds=timeline.kinds_in(subject),
            selected=selected,
            appending=bool(cursor),
            url=self.url("timeline", obj.pk),
        )
        return render(request, self.template_name, context)


def timeline_rows(entries: list[Any]) -> list[dict[str, Any]]:
    """Timeline entries with their kind (label, icon) and the link to the record they are about."""
    rows = []
    for entry in entries:
        rt = registry.get(entry.record_type) if entry.record_type else None
        url = reverse(f"{rt.plural}_detail", args=[entry.record_id]) if rt is not None and entry.record_id else ""
        rows.append({"entry": entry, "kind": timeline.kind(entry.kind), "url": url})
    return rows


class RecordFormView(RecordView):
    template_name = "platform/record_form.html"

    def render_form(self, form: forms.BaseForm, obj: Any = None) -> HttpResponse:
        status = 422 if form.is_bound and form.errors else 200
        return render(self.request, self.template_name, self.base_context(form=form, obj=obj), status=status)


class RecordCreateView(RecordFormView):
    def get(self, request: HttpRequest) -> HttpResponse:
        self.require("add")
        form = self.rt.form(ctx=self.ctx, initial=request.GET.dict())
        return self.render_form(form)

    def post(self, request: HttpRequest) -> HttpResponse:
        self.require("add")
        form = self.rt.form(request.POST, ctx=self.ctx)
        if form.is_valid():
            try:
                obj = services.record_create(self.rt, ctx=self.ctx, data=form.service_data())
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(
                    request, capfirst(_("%(type)s %(record)s created.") % {"type": self.rt.label, "record": obj})
                )
                return HttpResponseRedirect(safe_next(request, self.url("detail", obj.pk)))
        return self.render_form(form)


class RecordUpdateView(RecordFormView):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        self.require("change")
        obj = self.get_object(pk)
        return self.render_form(self.rt.form(instance=obj, ctx=self.ctx), obj)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        self.require("change")
        obj = self.get_object(pk)
        form = self.rt.form(request.POST, instance=self.get_object(pk), ctx=self.ctx)
        if form.is_valid():
            try:
                obj = services.record_update(
                    self.rt, ctx=self.ctx, obj=obj, data=form.service_data(), version=form.cleaned_data.get("version")
                )
            except StaleVersion:
                form.add_error(None, str(StaleVersion.message))
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("%(record)s saved.") % {"record": obj})
                return HttpResponseRedirect(self.url("detail", obj.pk))
        return self.render_form(form, obj)


class RecordDeleteView(RecordView):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        self.require("delete")
        obj = self.get_object(pk)
        version = request.POST.get("version")
        try:
            services.record_delete(self.rt, ctx=self.ctx, obj=obj, version=int(version) if version else None)
        except StaleVersion:
            messages.error(request, str(StaleVersion.message))
            return HttpResponseRedirect(self.url("detail", obj.pk))
        except ValidationError as error:  # refused by the record type's before_delete
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(self.url("detail", obj.pk))
        messages.success(request, _("%(record)s moved to the trash.") % {"record": obj})
        return HttpResponseRedirect(self.url("list"))


class RecordRestoreView(RecordView):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        self.require("delete")
        obj = self.get_object(pk, include_deleted=True)
        try:
            services.record_restore(self.rt, ctx=self.ctx, obj=obj)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(self.url("trash"))
        messages.success(request, _("%(record)s restored.") % {"record": obj})
        return HttpResponseRedirect(safe_next(request, self.url("detail", obj.pk)))


class RecordTrashView(RecordView):
    template_name = "platform/record_trash.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        self.require("view")
        queryset = selectors.record_list(
            self.rt, user=request.user, trash=True, ordering=None, q=request.GET.get("q", "")
        )
        queryset = queryset.select_related("deleted_by").order_by("-deleted_at", "-id")
        page = Paginator(queryset, 50).get_page(request.GET.get("page"))
        return render(request, self.template_name, self.base_context(page=page, rows=page.object_list))


def bulk_form_class(rt: RecordType, ctx: Context) -> type[forms.Form]:
    """A form with each bulk-editable field (optional) and a tick box saying "change it"."""
    base = cast("type[RecordForm]", forms.modelform_factory(rt.model, form=rt.form, fields=rt.bulk_fields))
    probe = base(ctx=ctx)
    fields: dict[str, forms.Field] = {}
    for name in rt.bulk_fields:
        if name not in probe.fields:
            continue  # e.g. owner for users who may not reassign
        field = probe.fields[name]
        field.required = False
        fields[f"apply_{name}"] = forms.BooleanField(required=False, label=_("Change"))
        fields[name] = field
    return type(f"{rt.model.__name__}BulkForm", (forms.Form,), fields)


class RecordBulkView(RecordView):
    """Bulk actions on the ticked rows of a list: edit some fields, or move to the trash."""

    template_name = "platform/record_bulk_edit.html"

    def post(self, request: HttpRequest) -> HttpResponse:
        ids = [i for i in request.POST.getlist("ids") if i.isdigit()]
        back = safe_next(request, self.url("list"))
        if not ids:
            messages.warning(request, _("Select at least one record."))
            return HttpResponseRedirect(back)
        objs = list(visible_to(request.user, self.rt.model.objects.filter(pk__in=ids), self.rt))
        action = request.POST.get("action")
        if action in ("add_tags", "remove_tags"):
            from kehu.platform.tags.views import bulk_tags

            self.require("change")
            return bulk_tags(self, objs=objs, action=action, back=back)
        if action == "delete":
            self.require("delete")
            try:
                count = services.record_bulk_delete(self.rt, ctx=self.ctx, objs=objs)
            except ValidationError as error:  # refused by the record type's before_delete
                messages.error(request, " ".join(error.messages))
                return HttpResponseRedirect(back)
            messages.success(
                request,
                ngettext("%(count)d record moved to the trash.", "%(count)d records moved to the trash.", count)
                % {"count": count},
            )
            return HttpResponseRedirect(back)
        self.require("change")
        form_class = bulk_form_class(self.rt, self.ctx)
        form = form_class(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            data = {
                name: form.cleaned_data[name] for name in self.rt.bulk_fields if form.cleaned_data.get(f"apply_{name}")
            }
            if not data:
                form.add_error(None, _("Tick at least one field to change."))
            else:
                try:
                    count = services.record_bulk_update(self.rt, ctx=self.ctx, objs=objs, data=data)
                except ValidationError as error:
                    add_service_errors(form, error)
                else:
                    messages.success(
                        request,
                        ngettext("%(count)d record changed.", "%(count)d records changed.", count) % {"count": count},
                    )
                    return HttpResponseRedirect(back)
        fields = [(form[f"apply_{name}"], form[name]) for name in self.rt.bulk_fields if name in form.fields]
        return render(request, self.template_name, self.base_context(form=form, fields=fields, objs=objs, next=back))


class SavedViewCreateView(RecordView):
    def post(self, request: HttpRequest) -> HttpResponse:
        self.require("view")
        name = request.POST.get("name", "").strip()[:100]
        query = seal_query(self.rt, request.POST.get("query", ""))  # no personal data in plain text
        if not name:
            messages.error(request, _("Give the view a name."))
            return HttpResponseRedirect(f"{self.url('list')}?{query}")
        if len(query) > SavedView._meta.get_field("query").max_length:  # type: ignore[operator]
            messages.error(request, _("These filters are too long to save as a view."))
            return HttpResponseRedirect(f"{self.url('list')}?{query}")
        view, _created = SavedView.objects.update_or_create(
            user=request.user,
            record_type=self.rt.key,
            name=name,
            defaults={"query": query, "shared": bool(request.POST.get("shared"))},
        )
        messages.success(request, _("View “%(name)s” saved.") % {"name": name})
        return HttpResponseRedirect(
            f"{self.url('list')}?{query}&view={view.pk}" if query else f"{self.url('list')}?view={view.pk}"
        )


class SavedViewDeleteView(RecordView):
    def post(self, request: HttpRequest, view_id: int) -> HttpResponse:
        view = get_object_or_404(SavedView, pk=view_id, user=request.user, record_type=self.rt.key)
        view.delete()
        messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
        return HttpResponseRedirect(self.url("list"))
