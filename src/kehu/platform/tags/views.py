"""Web pages for tags: bulk tagging from a record list, and the tag settings page (list with
usage counts, create, rename, recolour, delete). Thin: reads through the tag selectors,
writes through the tag services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from kehu.platform import tags as record_tags
from kehu.platform.context import Context
from kehu.platform.errors import NotVisible
from kehu.platform.models import Tag
from kehu.platform.records import RecordType, registry
from kehu.platform.views import RecordView, add_service_errors

SHARED = "shared"

# ---------------------------------------------------------------- bulk tagging from a list


class BulkTagsForm(forms.Form):
    """The tags to add to (or take off) the selected records."""

    def __init__(self, *args: Any, rt: RecordType, ctx: Context, action: str, objs: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Removing offers only the tags some selected record carries.
        queryset = record_tags.tags_on(rt, objs) if action == "remove_tags" else record_tags.tags_for(rt)
        self.fields["tags"] = record_tags.tag_choice_field(rt, queryset)
        if action == "add_tags" and record_tags.can_tag(ctx, "add", rt.key):
            self.fields["new_tags"] = record_tags.new_tags_field()

    def chosen(self) -> list[Any]:
        return record_tags.form_data(self)["tags"]


def bulk_tags(view: RecordView, *, objs: list[Any], action: str, back: str) -> HttpResponse:
    """``action`` add_tags / remove_tags on the ticked rows: first the choice of tags, then
    the change through the bulk tag services."""
    request, rt, ctx = view.request, view.rt, view.ctx
    form = BulkTagsForm(request.POST if "apply" in request.POST else None, rt=rt, ctx=ctx, action=action, objs=objs)
    if form.is_bound and form.is_valid():
        service = record_tags.records_add_tags if action == "add_tags" else record_tags.records_remove_tags
        try:
            count = service(rt, ctx=ctx, objs=objs, tags=form.chosen())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if not count:
                messages.info(request, _("No record changed: the selected records already had these tags."))
            elif action == "add_tags":
                messages.success(
                    request,
                    ngettext("Tags added to %(count)d record.", "Tags added to %(count)d records.", count)
                    % {"count": count},
                )
            else:
                messages.success(
                    request,
                    ngettext("Tags removed from %(count)d record.", "Tags removed from %(count)d records.", count)
                    % {"count": count},
                )
            return HttpResponseRedirect(back)
    context = view.base_context(form=form, objs=objs, next=back, action=action)
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "platform/record_bulk_tags.html", context, status=status)


# ---------------------------------------------------------------- settings page


def _type_choices() -> list[tuple[str, Any]]:
    return [("", gettext_lazy("All record types")), *((rt.key, record_tags.type_label(rt.key)) for rt in registry)]


class TagForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    color = forms.CharField(
        label=gettext_lazy("Colour"),
        initial=record_tags.DEFAULT_COLOR,
        max_length=7,
        widget=forms.TextInput(attrs={"type": "color", "class": "kehu-color-input"}),
    )
    record_type = forms.ChoiceField(
        label=gettext_lazy("Used on"),
        required=False,
        choices=_type_choices,
        help_text=gettext_lazy("A tag for all record types, or for one only."),
    )


def _require_manager(request: HttpRequest) -> None:
    if not record_tags.can_manage_tags(request.user):
        raise PermissionDenied


def _get_tag(request: HttpRequest, pk: int) -> Tag:
    try:
        return record_tags.tag_get(request.user, pk)
    except NotVisible:
        raise Http404 from None


@login_required
def tag_list(request: HttpRequest) -> HttpResponse:
    """Every tag the user may read, filtered by record type and name, with how many records
    (that the user can see) carry each; creating a tag for those who may."""
    _require_manager(request)
    user = request.user
    may = {action: record_tags.can_tag(user, action) for action in record_tags.TAG_ACTIONS}
    form = None
    if may["add"]:
        form = TagForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                tag = record_tags.tag_create(Context.from_request(request), **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Tag “%(name)s” created.") % {"name": tag.name})
                return HttpResponseRedirect(request.get_full_path())
    elif request.method == "POST":
        raise PermissionDenied
    scope = request.GET.get("scope", "")
    q = request.GET.get("q", "")[:100].replace("\x00", "")
    try:
        if scope == SHARED:
            tags = record_tags.tags_visible(user, record_type="", exact=True, q=q)
        else:
            tags = record_tags.tags_visible(user, record_type=scope or None, exact=True, q=q)
    except ValidationError:
        tags, scope = record_tags.tags_visible(user, q=q), ""
    tags_list = list(tags)
    counts = record_tags.usage_counts(user, tags_list)
    rows = []
    for tag in tags_list:
        usage = counts.get(tag.pk, {})
        rows.append(
            {
                "tag": tag,
                "type_label": record_tags.type_label(tag.record_type),
                "usage": [(record_tags.type_label(key), n) for key, n in usage.items()],
                "total": sum(usage.values()),
            }
        )
    context = {
        "rows": rows,
        "form": form,
        "may": may,
        "scope": scope,
        "q": q,
        "scopes": [("", _("All tags")), (SHARED, _("Shared by all record types"))]
        + [(rt.key, record_tags.type_label(rt.key)) for rt in registry],
    }
    status = 422 if form is not None and form.is_bound and form.errors else 200
    return render(request, "platform/tags/tag_list.html", context, status=status)


@login_required
def tag_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Rename, recolour or change the record type of one tag; the delete button with how
    many records would lose it."""
    _require_manager(request)
    tag = _get_tag(request, pk)
    may = {action: record_tags.can_tag(request.user, action, tag.record_type) for action in record_tags.TAG_ACTIONS}
    initial = {"name": tag.name, "color": tag.color, "record_type": tag.record_type}
    form = TagForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST":
        if not may["change"]:
            raise PermissionDenied
        if form.is_valid():
            try:
                record_tags.tag_update(Context.from_request(request), tag, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Tag “%(name)s” saved.") % {"name": tag.name})
                return HttpResponseRedirect(reverse("tag_settings"))
    usage = record_tags.usage_counts(request.user, [tag]).get(tag.pk, {})
    context = {
        "tag": tag,
        "form": form,
        "may": may,
        "usage": [(record_tags.type_label(key), n) for key, n in usage.items()],
        "total": sum(usage.values()),
    }
    return render(request, "platform/tags/tag_edit.html", context, status=422 if form.errors else 200)


@login_required
@require_POST
def tag_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    tag = _get_tag(request, pk)
    name = tag.name
    count = record_tags.tag_delete(Context.from_request(request), tag)  # PermissionDenied → 403
    messages.success(
        request,
        ngettext(
            "Tag “%(name)s” deleted; %(count)d record lost it.",
            "Tag “%(name)s” deleted; %(count)d records lost it.",
            count,
        )
        % {"name": name, "count": count},
    )
    return HttpResponseRedirect(reverse("tag_settings"))
