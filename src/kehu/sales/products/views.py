"""The product form with its prices (one box per active currency), the prices panel on a
product's page and the category tree settings page. The rest of /products/ is the spine's."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from kehu.platform import selectors
from kehu.platform import services as record_services
from kehu.platform.access import can
from kehu.platform.context import Context
from kehu.platform.errors import NotVisible, StaleVersion
from kehu.platform.views import RecordCreateView, RecordUpdateView, add_service_errors, safe_next
from kehu.sales.products import services
from kehu.sales.products.forms import CategoryForm, PricesForm
from kehu.sales.products.models import ProductCategory
from kehu.sales.products.records import PRODUCT


def _price_errors(prices_form: PricesForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            code = name.removeprefix("prices.")
            prices_form.add_error(code if code in prices_form.fields else None, errors)
    else:
        prices_form.add_error(None, error)


class _PricesMixin:
    template_name = "products/product_form.html"
    request: HttpRequest

    def render_form(self, form: Any, obj: Any = None, prices_form: PricesForm | None = None) -> HttpResponse:
        prices_form = prices_form or PricesForm(product=obj)
        failed = (form.is_bound and form.errors) or (prices_form.is_bound and prices_form.errors)
        context = self.base_context(form=form, obj=obj, prices_form=prices_form)  # type: ignore[attr-defined]
        return render(self.request, self.template_name, context, status=422 if failed else 200)


class ProductCreateView(_PricesMixin, RecordCreateView):
    def post(self, request: HttpRequest) -> HttpResponse:
        self.require("add")
        form = self.rt.form(request.POST, ctx=self.ctx)
        prices_form = PricesForm(request.POST)
        if form.is_valid() and prices_form.is_valid():
            try:
                with transaction.atomic():
                    obj = record_services.record_create(self.rt, ctx=self.ctx, data=form.service_data())
                    prices = {code: price for code, price in prices_form.prices().items() if price is not None}
                    if prices:
                        services.product_set_prices(self.ctx, obj, prices)
            except ValidationError as error:
                prices_error = hasattr(error, "error_dict") and any(k.startswith("prices.") for k in error.error_dict)
                if prices_error:
                    _price_errors(prices_form, error)
                else:
                    add_service_errors(form, error)
            else:
                messages.success(
                    request, capfirst(_("%(type)s %(record)s created.") % {"type": self.rt.label, "record": obj})
                )
                return HttpResponseRedirect(safe_next(request, self.url("detail", obj.pk)))
        return self.render_form(form, None, prices_form)


class ProductUpdateView(_PricesMixin, RecordUpdateView):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        self.require("change")
        obj = self.get_object(pk)
        return self.render_form(self.rt.form(instance=obj, ctx=self.ctx), obj)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        self.require("change")
        obj = self.get_object(pk)
        form = self.rt.form(request.POST, instance=self.get_object(pk), ctx=self.ctx)
        prices_form = PricesForm(request.POST, product=obj)
        if form.is_valid() and prices_form.is_valid():
            try:
                with transaction.atomic():
                    obj = record_services.record_update(
                        self.rt,
                        ctx=self.ctx,
                        obj=obj,
                        data=form.service_data(),
                        version=form.cleaned_data.get("version"),
                    )
                    services.product_set_prices(self.ctx, obj, prices_form.prices(), replace=True)
            except StaleVersion:
                form.add_error(None, str(StaleVersion.message))
            except ValidationError as error:
                prices_error = hasattr(error, "error_dict") and any(k.startswith("prices.") for k in error.error_dict)
                if prices_error:
                    _price_errors(prices_form, error)
                else:
                    add_service_errors(form, error)
            else:
                messages.success(request, _("%(record)s saved.") % {"record": obj})
                return HttpResponseRedirect(self.url("detail", obj.pk))
        return self.render_form(form, obj, prices_form)


@login_required
def product_prices(request: HttpRequest, pk: int) -> HttpResponse:
    """The prices panel on a product's page (loaded with htmx)."""
    if not can(request.user, PRODUCT, "view"):
        raise PermissionDenied
    try:
        product = selectors.record_get(PRODUCT, user=request.user, pk=pk)
    except NotVisible:
        raise Http404 from None
    prices = sorted(product.prices.all(), key=lambda p: p.currency_id)
    return render(
        request,
        "products/_prices_panel.html",
        {"product": product, "prices": prices, "can_change": can(request.user, PRODUCT, "change")},
    )


# ---------------------------------------------------------------- category settings


def _require_categories(request: HttpRequest) -> None:
    if not services.can_manage_categories(request.user):
        raise PermissionDenied


@login_required
def category_settings(request: HttpRequest) -> HttpResponse:
    """The category tree with how many products each holds; a new category."""
    _require_categories(request)
    form = CategoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            category = services.category_save(Context.from_request(request), None, form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Category “%(name)s” added.") % {"name": category.name})
            return HttpResponseRedirect(reverse("product_category_settings"))
    categories = ProductCategory.objects.annotate(
        product_count=Count("products", filter=Q(products__deleted_at__isnull=True))
    )
    tree = services.category_tree(categories)
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "products/settings/categories.html", {"tree": tree, "form": form}, status=status)


@login_required
def category_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_categories(request)
    category = get_object_or_404(ProductCategory, pk=pk)
    form = CategoryForm(request.POST or None, instance=category)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            services.category_save(Context.from_request(request), get_object_or_404(ProductCategory, pk=pk), data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Category “%(name)s” saved.") % {"name": data["name"]})
            return HttpResponseRedirect(reverse("product_category_settings"))
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "products/settings/category_edit.html", {"category": category, "form": form}, status=status)


@login_required
def category_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _require_categories(request)
    if request.method != "POST":
        return HttpResponseRedirect(reverse("product_category_settings"))
    category = get_object_or_404(ProductCategory, pk=pk)
    try:
        services.category_delete(Context.from_request(request), category)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Category “%(name)s” deleted.") % {"name": category.name})
    return HttpResponseRedirect(reverse("product_category_settings"))
