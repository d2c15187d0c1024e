"""The product and service catalogue: categories (a tree), products and their list prices
per currency."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from kehu.platform.models import BaseRecord


class ProductKind(models.TextChoices):
    PRODUCT = "product", _("Product")
    SERVICE = "service", _("Service")


class ProductCategory(models.Model):
    """A node of the category tree (软件 › 许可证). Cycles are refused by the services."""

    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("product category")
        verbose_name_plural = _("product categories")
        ordering = ["order", "name", "id"]

    def __str__(self) -> str:
        return self.name


class Product(BaseRecord):
    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("type"), max_length=16, choices=ProductKind.choices, default=ProductKind.PRODUCT)
    category = models.ForeignKey(
        ProductCategory,
        verbose_name=_("category"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="products",
    )
    unit = models.CharField(_("unit"), max_length=32, blank=True, help_text=_("For example 件, 套, 小时."))
    description = models.TextField(_("description"), blank=True)
    tax_rate = models.DecimalField(
        _("tax rate (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("13.00"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )
    active = models.BooleanField(
        _("active"), default=True, help_text=_("Archived products stay on old lines but are not offered.")
    )

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["code", "id"]
        indexes = [
            models.Index(fields=["active", "kind"], name="product_active_kind_idx"),
            models.Index(fields=["-updated_at"], name="product_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}".strip()

    @property
    def price_map(self) -> dict[str, str]:
        """``{currency code: unit price}`` as strings (exact; the API's ``prices``). Uses the
        prefetched ``prices`` of a list."""
        return {p.currency_id: str(p.unit_price) for p in sorted(self.prices.all(), key=lambda p: p.currency_id)}


class ProductPrice(models.Model):
    """The list price of one unit of a product in one currency."""

    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="prices")
    currency = models.ForeignKey(
        "platform.Currency", verbose_name=_("currency"), on_delete=models.PROTECT, related_name="+"
    )
    unit_price = models.DecimalField(
        _("unit price"), max_digits=18, decimal_places=4, validators=[MinValueValidator(Decimal(0))]
    )

    class Meta:
        verbose_name = _("product price")
        verbose_name_plural = _("product prices")
        ordering = ["product", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["product", "currency"], name="product_price_unique_currency"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.currency_id} {self.unit_price}"
