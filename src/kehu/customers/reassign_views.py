"""Pages for reassigning customers: the "Reassign" bulk action of the customer list (the
ticked rows, or every customer matching the list's filters) and "Change owner" of one
customer. Thin: the work is ``reassign.customers_reassign``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View

from kehu.accounts.models import Team, User
from kehu.customers import reassign
from kehu.platform import selectors
from kehu.platform.access import visible_to
from kehu.platform.context import Context
from kehu.platform.errors import NotVisible
from kehu.platform.fields import unseal_query
from kehu.platform.records import RecordType, registry
from kehu.platform.views import LIST_PARAMS, add_service_errors, safe_next

SELECTED, MATCHING = "selected", "matching"


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        name = str(obj)
        details = [obj.get_username()] if name != obj.get_username() else []
        if obj.team_id is not None:
            details.append(str(obj.team))
        return f"{name} ({' · '.join(details)})" if details else name


class ReassignForm(forms.Form):
    owner = OwnerChoiceField(
        label=gettext_lazy("New owner"),
        queryset=User.objects.filter(is_active=True).select_related("team").order_by("username"),
    )
    team = forms.ModelChoiceField(
        label=gettext_lazy("Team"),
        queryset=Team.objects.all(),
        required=False,
        empty_label=gettext_lazy("The new owner's team"),
        help_text=gettext_lazy("Leave empty to use the new owner's team."),
    )
    include_related = forms.BooleanField(
        label=gettext_lazy("Also move their open tasks and opportunities"),
        required=False,
        initial=True,
    )

    def __init__(self, *args: Any, matching: int | None = None, selected: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if matching is not None:  # the list's filters match more than the ticked rows
            self.fields["scope"] = forms.ChoiceField(
                label=_("Customers"),
                widget=forms.RadioSelect,
                initial=SELECTED,
                choices=[
                    (
                        SELECTED,
                        ngettext(
                            "The %(count)s selected customer",
                            "The %(count)s selected customers",
                            selected,
                        )
                        % {"count": number_format(selected, force_grouping=True)},
                    ),
                    (
                        MATCHING,
                        ngettext(
                            "The %(count)s customer matching the list's filters",
                            "All %(count)s customers matching the list's filters",
                            matching,
                        )
                        % {"count": number_format(matching, force_grouping=True)},
                    ),
                ],
            )
            self.order_fields(["scope"])


def result_message(result: reassign.ReassignResult) -> str:
    """ "Reassigned 1,000 customers to 王伟 (120 open tasks moved)." """
    values = {
        "count": number_format(result.reassigned, force_grouping=True),
        "owner": result.owner,
        "related": ", ".join(result.related_texts()),
    }
    if values["related"]:
        return (
            ngettext(
                "Reassigned %(count)s customer to %(owner)s (%(related)s).",
                "Reassigned %(count)s customers to %(owner)s (%(related)s).",
                result.reassigned,
            )
            % values
        )
    return (
        ngettext(
            "Reassigned %(count)s customer to %(owner)s.",
            "Reassigned %(count)s customers to %(owner)s.",
            result.reassigned,
        )
        % values
    )


class ReassignView(LoginRequiredMixin, View):
    """GET or POST (from the list's bulk bar) with ``ids``: the form; POST with ``apply``: do it.
    With ``pk`` in the URL: "Change owner" of that one customer."""

    template_name = "customers/reassign.html"

    @property
    def rt(self) -> RecordType:
        return registry["customer"]

    @property
    def ctx(self) -> Context:
        return Context.from_request(self.request)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated and not reassign.may_reassign(self.ctx):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    # ---- what is being reassigned

    def customer(self, pk: int) -> Any:
        try:
            return selectors.record_get(self.rt, user=self.request.user, pk=pk)
        except NotVisible:
            raise Http404 from None

    def list_query(self, back: str) -> QueryDict | None:
        """The filters of the list the user came from (its URL is ``next``)."""
        parts = urlsplit(back)
        if parts.path != reverse("customers_list"):
            return None
        return unseal_query(QueryDict(parts.query))  # a saved view's sealed values opened

    def matching(self, back: str) -> QuerySet | None:
        """The visible customers matching the list's filters and search (None: not from a list,
        or filters that no longer validate)."""
        query = self.list_query(back)
        if query is None:
            return None
        try:
            return selectors.record_list(
                self.rt,
                user=self.request.user,
                params=selectors.query_filters(query, LIST_PARAMS),
                q=query.get("q", ""),
                ordering=None,
            )
        except ValidationError:
            return None

    # ---- the page

    def render_form(
        self, form: ReassignForm, *, ids: list[int], back: str, obj: Any, status: int = 200
    ) -> HttpResponse:
        shown = visible_to(self.request.user, self.rt.model.objects.filter(pk__in=ids[:50]), self.rt)
        selected = list(shown.select_related("owner").order_by("name", "pk"))
        context = {
            "rt": self.rt,
            "form": form,
            "ids": ",".join(str(pk) for pk in ids),
            "count": len(ids),
            "selected": selected,
            "more": max(len(ids) - len(selected), 0),
            "obj": obj,
            "next": back,
            "max_ids": reassign.MAX_IDS,
        }
        return render(self.request, self.template_name, context, status=status)

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        return self.show(request, request.GET, pk)

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        if "apply" not in request.POST:
            return self.show(request, request.POST, pk)  # from the list's bulk bar
        obj = self.customer(pk) if pk is not None else None
        ids = [obj.pk] if obj is not None else _ids(request.POST)
        back = safe_next(request, obj.get_absolute_url() if obj is not None else reverse("customers_list"))
        matching = self.matching(back) if obj is None else None
        matching_count = matching.count() if matching is not None else None
        form = ReassignForm(request.POST, matching=_offer(matching_count, ids), selected=len(ids))
        if not form.is_valid():
            return self.render_form(form, ids=ids, back=back, obj=obj, status=422)
        if form.cleaned_data.get("scope") == MATCHING and matching is not None:
            ids = list(matching.order_by().values_list("pk", flat=True)[: reassign.MAX_IDS + 1])
        if len(ids) > reassign.MAX_IDS:
            form.add_error(
                None,
                _("At most %(max)s customers can be reassigned at once; narrow the list's filters.")
                % {"max": number_format(reassign.MAX_IDS, force_grouping=True)},
            )
            return self.render_form(form, ids=ids[: reassign.MAX_IDS], back=back, obj=obj, status=422)
        try:
            result = reassign.customers_reassign(
                self.ctx,
                ids,
                form.cleaned_data["owner"],
                team=form.cleaned_data["team"],
                include_related=form.cleaned_data["include_related"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
            return self.render_form(form, ids=ids, back=back, obj=obj, status=422)
        report(request, result)
        return HttpResponseRedirect(back)

    def show(self, request: HttpRequest, data: QueryDict, pk: int | None) -> HttpResponse:
        obj = self.customer(pk) if pk is not None else None
        ids = [obj.pk] if obj is not None else _ids(data)
        fallback = obj.get_absolute_url() if obj is not None else reverse("customers_list")
        back = safe_next(request, fallback)
        if not ids:
            messages.warning(request, _("Select at least one customer."))
            return HttpResponseRedirect(back)
        matching = self.matching(back) if obj is None else None
        matching_count = matching.count() if matching is not None else None
        form = ReassignForm(matching=_offer(matching_count, ids), selected=len(ids))
        if obj is not None:
            form.initial["owner"] = obj.owner_id
        return self.render_form(form, ids=ids, back=back, obj=obj)


def _ids(data: QueryDict) -> list[int]:
    """The ticked rows (``ids`` once per row, from the list) or the form's own hidden field
    (all in one value, comma-separated: a POST has at most DATA_UPLOAD_MAX_NUMBER_FIELDS
    fields)."""
    values = (part.strip() for value in data.getlist("ids") for part in value.split(","))
    return list(dict.fromkeys(int(value) for value in values if value.isdigit()))


def _offer(matching_count: int | None, ids: list[int]) -> int | None:
    """Offer "all matching the filters" when they are more than the ticked rows."""
    return matching_count if matching_count is not None and matching_count > len(ids) else None


def report(request: HttpRequest, result: reassign.ReassignResult) -> None:
    if result.reassigned or any(result.related.values()) or not (result.unchanged or result.skipped):
        messages.success(request, result_message(result))
    if result.unchanged:
        messages.info(
            request,
            ngettext(
                "%(count)s customer already belonged to %(owner)s.",
                "%(count)s customers already belonged to %(owner)s.",
                result.unchanged,
            )
            % {"count": number_format(result.unchanged, force_grouping=True), "owner": result.owner},
        )
    if result.skipped:
        messages.warning(
            request,
            ngettext(
                "%(count)s customer was skipped: it is not visible to you or no longer exists.",
                "%(count)s customers were skipped: they are not visible to you or no longer exist.",
                result.skipped,
            )
            % {"count": number_format(result.skipped, force_grouping=True)},
        )


urlpatterns = [
    path("customers/reassign/", ReassignView.as_view(), name="customers_reassign"),
    path("customers/<int:pk>/reassign/", ReassignView.as_view(), name="customers_reassign_one"),
]
