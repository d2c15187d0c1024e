from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.platform.forms import RecordForm
from kehu.platform.models import Currency
from kehu.sales.products.models import Product, ProductCategory
from kehu.sales.products.services import category_tree


class CategoryChoiceField(forms.ModelChoiceField):
    """Categories indented by their depth in the tree."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", ProductCategory.objects.all())
        super().__init__(*args, **kwargs)
        self._depths: dict[int, int] = {}

    def label_from_instance(self, obj: Any) -> str:
        return "— " * self._depths.get(obj.pk, 0) + obj.name

    def set_tree(self, exclude: int | None = None) -> None:
        tree = category_tree()
        self._depths = {node.pk: depth for node, depth in tree}
        self.choices = [("", "---------"), *((n.pk, "— " * d + n.name) for n, d in tree if n.pk != exclude)]


class ProductForm(RecordForm):
    class Meta:
        model = Product
        fields = ["code", "name", "kind", "category", "unit", "tax_rate", "active", "description", "owner", "team"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        field_classes = {"category": CategoryChoiceField}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        category = self.fields.get("category")
        if isinstance(category, CategoryChoiceField):
            category.set_tree()


class PricesForm(forms.Form):
    """One unit price per active currency (and per currency the product already has a price
    in); an empty box removes that price."""

    prefix = "price"

    def __init__(self, *args: Any, product: Product | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current: dict[str, Decimal] = {}
        if product is not None and product.pk:
            current = {p.currency_id: p.unit_price for p in product.prices.all()}
        currencies = Currency.objects.filter(active=True) | Currency.objects.filter(code__in=list(current))
        self.codes: list[str] = []
        for currency in currencies.distinct().order_by("code"):
            code = currency.code
            self.codes.append(code)
            self.fields[code] = forms.DecimalField(
                label=f"{code} · {currency.display_name}",
                required=False,
                min_value=Decimal(0),
                max_digits=18,
                decimal_places=4,
                initial=current.get(code),
                widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
            )

    def prices(self) -> dict[str, Decimal | None]:
        return {code: self.cleaned_data.get(code) for code in self.codes}


class CategoryForm(forms.ModelForm):
    parent = CategoryChoiceField(required=False, label=_("Parent category"))

    class Meta:
        model = ProductCategory
        fields = ["name", "parent", "order"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["order"].required = False
        parent = self.fields["parent"]
        assert isinstance(parent, CategoryChoiceField)
        parent.set_tree(exclude=self.instance.pk)
