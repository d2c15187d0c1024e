"""Settings → Currencies: activate currencies, keep exchange rates (list by currency and date,
add, edit, delete, CSV import with a dry run). Writes go through ``kehu.platform.rates``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from kehu.platform import money, rates
from kehu.platform.context import Context
from kehu.platform.models import Currency, ExchangeRate
from kehu.platform.views import add_service_errors

MAX_UPLOAD = 2 * 1024 * 1024


class RateForm(forms.Form):
    currency = forms.ChoiceField(label=gettext_lazy("Currency"))
    rate_date = forms.DateField(label=gettext_lazy("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    rate = forms.DecimalField(
        label=gettext_lazy("Rate"),
        max_digits=24,
        decimal_places=10,
        min_value=0,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        base = money.reporting_currency()
        currency = self.fields["currency"]
        assert isinstance(currency, forms.ChoiceField)
        currency.choices = [
            (c.code, f"{c.code} · {c.display_name}") for c in Currency.objects.filter(active=True).exclude(code=base)
        ]
        self.fields["rate"].help_text = _("How many %(base)s one unit of the currency is worth.") % {"base": base}


class FilterForm(forms.Form):
    currency = forms.ChoiceField(label=gettext_lazy("Currency"), required=False)
    date_from = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        currency = self.fields["currency"]
        assert isinstance(currency, forms.ChoiceField)
        currency.choices = [("", _("All currencies")), *((c.code, c.code) for c in Currency.objects.all())]


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV file"), help_text=gettext_lazy("Lines: currency,date,rate"))


def _require_page(request: HttpRequest) -> None:
    if not (rates.can_manage_rates(request.user) or rates.can_manage_currencies(request.user)):
        raise PermissionDenied


@login_required
def currency_settings(request: HttpRequest) -> HttpResponse:
    _require_page(request)
    ctx = Context.from_request(request)
    rate_form = RateForm(request.POST if request.POST.get("form") == "rate" else None, prefix="rate")
    if request.method == "POST":
        action = request.POST.get("form")
        try:
            if action == "currency":
                currency = get_object_or_404(Currency, code=request.POST.get("code", "").upper())
                active = request.POST.get("active") == "1"
                rates.currency_set_active(ctx, currency, active)
                messages.success(
                    request,
                    (_("%(code)s activated.") if active else _("%(code)s deactivated.")) % {"code": currency.code},
                )
                return HttpResponseRedirect(reverse("currency_settings"))
            if action == "add_currency":
                currency = rates.currency_add(ctx, request.POST.get("code", ""))
                messages.success(request, _("%(code)s added.") % {"code": currency.code})
                return HttpResponseRedirect(reverse("currency_settings"))
            if action == "rate" and rate_form.is_valid():
                rate = rates.rate_save(ctx, None, rate_form.cleaned_data)
                messages.success(
                    request,
                    _("Rate of %(code)s on %(date)s saved.") % {"code": rate.currency_id, "date": rate.rate_date},
                )
                return HttpResponseRedirect(reverse("currency_settings"))
        except ValidationError as error:
            if action == "rate":
                add_service_errors(rate_form, error)
            else:
                messages.error(request, " ".join(error.messages))
                return HttpResponseRedirect(reverse("currency_settings"))
    filters = FilterForm(request.GET or None)
    params = filters.cleaned_data if filters.is_valid() else {}
    queryset = rates.rates_list(params.get("currency") or "", params.get("date_from"), params.get("date_to"))
    page = Paginator(queryset, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "currencies": Currency.objects.all(),
        "reporting": money.reporting_currency(),
        "rate_form": rate_form,
        "filters": filters,
        "page": page,
        "query": query.urlencode(),
        "can_currencies": rates.can_manage_currencies(request.user),
        "can_rates": rates.can_manage_rates(request.user),
    }
    status = 422 if rate_form.is_bound and rate_form.errors else 200
    return render(request, "products/settings/currencies.html", context, status=status)


@login_required
def rate_edit(request: HttpRequest, pk: int) -> HttpResponse:
    if not rates.can_manage_rates(request.user):
        raise PermissionDenied
    rate = get_object_or_404(ExchangeRate, pk=pk)
    initial = {"currency": rate.currency_id, "rate_date": rate.rate_date, "rate": rate.rate}
    form = RateForm(request.POST or None, initial=initial)
    if request.method == "POST":
        ctx = Context.from_request(request)
        if request.POST.get("delete"):
            rates.rate_delete(ctx, rate)
            messages.success(request, _("Rate deleted."))
            return HttpResponseRedirect(reverse("currency_settings"))
        if form.is_valid():
            try:
                rates.rate_save(ctx, rate, form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Rate saved."))
                return HttpResponseRedirect(reverse("currency_settings"))
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "products/settings/rate_edit.html", {"rate": rate, "form": form}, status=status)


@login_required
def rate_import(request: HttpRequest) -> HttpResponse:
    """Upload ``currency,date,rate`` lines: "Check" counts what would change and lists bad
    lines; "Import" writes all of them or none."""
    if not rates.can_manage_rates(request.user):
        raise PermissionDenied
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            form.add_error("file", _("The file is larger than 2 MB."))
        else:
            dry_run = request.POST.get("mode") != "import"
            report = rates.rates_import_csv(Context.from_request(request), upload.read(), dry_run=dry_run)
            if report.ok and not dry_run:
                messages.success(
                    request,
                    ngettext(
                        "%(count)d rate imported (%(created)d new, %(updated)d changed).",
                        "%(count)d rates imported (%(created)d new, %(updated)d changed).",
                        report.rows,
                    )
                    % {"count": report.rows, "created": report.created, "updated": report.updated},
                )
                return HttpResponseRedirect(reverse("currency_settings"))
    status = 422 if (form.is_bound and form.errors) or (report is not None and not report.ok) else 200
    return render(request, "products/settings/rate_import.html", {"form": form, "report": report}, status=status)
