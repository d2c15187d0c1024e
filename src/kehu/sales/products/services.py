"""Writes for the catalogue: prices per currency (audited), the category tree (no cycles),
and the rule that a product used on opportunity or order lines is archived, never deleted."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.platform import audit as audit_log
from kehu.platform.access import require
from kehu.platform.context import Context
from kehu.platform.events import Event, publish
from kehu.platform.models import AuditAction, Currency
from kehu.sales.products.models import Product, ProductCategory, ProductPrice

CATEGORY_PERMISSION = "products.change_productcategory"
PRICE_PLACES = Decimal("0.0001")
MAX_PRICE = Decimal("99999999999999.9999")  # DecimalField(18, 4)

# ---------------------------------------------------------------- usage (archive, never delete)


@dataclass(frozen=True)
class Usage:
    key: str
    used: Callable[[list[int]], set[int]]
    label: Any  # what people read ("order lines"), translatable


_usages: dict[str, Usage] = {}


def register_usage(key: str, used: Callable[[list[int]], set[int]], label: Any = None) -> None:
    """Declare (from the app that owns line tables: opportunities, orders) which products are
    referenced: ``used(product_ids)`` answers the subset in use. Such products cannot be
    deleted; they are archived (``active=False``) instead. Registering a key again replaces
    it; ``label`` (default: the key) names the tables in the refusal."""
    _usages[key] = Usage(key=key, used=used, label=label if label is not None else key)


def unregister_usage(key: str) -> None:
    _usages.pop(key, None)


def used_products(product_ids: Iterable[int]) -> dict[int, list[str]]:
    """``{product_id: [labels of the registered tables that use it]}`` for the ids in use."""
    ids = [int(pk) for pk in product_ids]
    found: dict[int, list[str]] = {}
    if not ids:
        return found
    for usage in _usages.values():
        for pk in usage.used(ids):
            found.setdefault(pk, []).append(str(usage.label))
    return found


def product_before_delete(products: Iterable[Product], ctx: Context | None = None) -> None:
    """Refuse to delete products referenced by registered line tables (the record type's
    ``before_delete``: single, bulk, web and API deletes alike)."""
    objs = list(products)
    used = used_products(obj.pk for obj in objs)
    if used:
        names = ", ".join(str(obj) for obj in objs if obj.pk in used)
        raise ValidationError(
            _("%(products)s is used on %(where)s and cannot be deleted. Archive it instead (untick “active”).")
            % {"products": names, "where": ", ".join(sorted({label for labels in used.values() for label in labels}))},
            code="product_in_use",
        )


def product_delete(ctx: Context, product: Product, version: int | None = None) -> None:
    """Move an unused product to the trash. Raises ValidationError for a product in use."""
    from kehu.platform.services import record_delete
    from kehu.sales.products.records import PRODUCT

    record_delete(PRODUCT, ctx=ctx, obj=product, version=version)


# ---------------------------------------------------------------- prices


def list_price(product: Product | int, currency: str) -> Decimal | None:
    """The product's list price of one unit in ``currency``, or ``None`` when it has none
    (uses prefetched ``prices`` when there are)."""
    code = currency.upper()
    if isinstance(product, Product):
        cache = getattr(product, "_prefetched_objects_cache", {})
        if "prices" in cache:
            return next((p.unit_price for p in cache["prices"] if p.currency_id == code), None)
        product = product.pk
    return (
        ProductPrice.objects.filter(product_id=product, currency_id=code).values_list("unit_price", flat=True).first()
    )


def prices_of(products: Iterable[Product]) -> dict[int, dict[str, Decimal]]:
    """``{product_id: {code: unit_price}}`` in one query."""
    ids = [p.pk for p in products]
    result: dict[int, dict[str, Decimal]] = {pk: {} for pk in ids}
    for pid, code, price in ProductPrice.objects.filter(product_id__in=ids).values_list(
        "product_id", "currency_id", "unit_price"
    ):
        result[pid][code] = price
    return result


def _clean_prices(prices: Mapping[str, Any]) -> dict[str, Decimal | None]:
    """Codes upper-cased, amounts as ``Decimal`` (``None`` or "" removes the price)."""
    if not isinstance(prices, Mapping):
        raise ValidationError({"prices": _("Give the prices as {currency code: unit price}.")})
    codes = {str(code).upper() for code in prices}
    known = set(Currency.objects.filter(code__in=codes).values_list("code", "active"))
    known_codes = {code for code, _active in known}
    active = {code for code, is_active in known if is_active}
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Decimal | None] = {}
    for raw_code, raw in prices.items():
        code = str(raw_code).upper()
        key = f"prices.{code}"
        if code not in known_codes:
            errors[key] = [_("Unknown currency %(code)s.") % {"code": code}]
            continue
        if raw is None or raw == "":
            cleaned[code] = None
            continue
        if code not in active:
            errors[key] = [_("Currency %(code)s is not active.") % {"code": code}]
            continue
        if isinstance(raw, float | bool):
            errors[key] = [_("Give the price as a decimal string, e.g. “199.00”.")]
            continue
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            errors[key] = [_("“%(value)s” is not a number.") % {"value": raw}]
            continue
        if not value.is_finite() or value < 0:
            errors[key] = [_("A price must be zero or more.")]
            continue
        if value != value.quantize(PRICE_PLACES):
            errors[key] = [_("Use at most 4 decimal places.")]
            continue
        if value > MAX_PRICE:
            errors[key] = [_("The price is too large.")]
            continue
        cleaned[code] = value.quantize(PRICE_PLACES)
    if errors:
        raise ValidationError(errors)
    return cleaned


def product_set_prices(
    ctx: Context, product: Product, prices: Mapping[str, Any], *, replace: bool = False
) -> dict[str, Decimal]:
    """Set the product's unit prices per currency: ``{code: Decimal}``; ``None`` removes a
    price; with ``replace`` currencies not given are removed too. Audited as a change of
    "prices" on the product (and its version goes up when anything changed). Returns the
    prices now stored."""
    from kehu.sales.products.records import PRODUCT

    require(ctx, PRODUCT, "change")
    if product.is_deleted:
        raise ValidationError(_("The product is in the trash."))
    cleaned = _clean_prices(prices)
    with transaction.atomic():
        rows = {p.currency_id: p for p in ProductPrice.objects.select_for_update().filter(product=product)}
        before = {code: row.unit_price for code, row in rows.items()}
        after = dict(before)
        if replace:
            after = {code: price for code, price in after.items() if code in cleaned}
        for code, price in cleaned.items():
            if price is None:
                after.pop(code, None)
            else:
                after[code] = price
        if after == before:
            return after
        removed = [code for code in before if code not in after]
        if removed:
            ProductPrice.objects.filter(product=product, currency_id__in=removed).delete()
        changed = [rows[code] for code in after if code in rows and rows[code].unit_price != after[code]]
        for row in changed:
            row.unit_price = after[row.currency_id]
        if changed:
            ProductPrice.objects.bulk_update(changed, ["unit_price"])
        added = [
            ProductPrice(product=product, currency_id=code, unit_price=after[code])
            for code in after
            if code not in rows
        ]
        if added:
            ProductPrice.objects.bulk_create(added)
        now = timezone.now()
        Product.all_objects.filter(pk=product.pk).update(
            version=product.version + 1, updated_at=now, updated_by=ctx.user
        )
        product.version += 1
        product.updated_at, product.updated_by = now, ctx.user
        if hasattr(product, "_prefetched_objects_cache"):
            product._prefetched_objects_cache.pop("prices", None)

        def as_json(values: Mapping[str, Decimal]) -> dict[str, str]:
            return {code: str(values[code]) for code in sorted(values)}

        audit_log.audit(ctx, AuditAction.UPDATE, product, changes={"prices": [as_json(before), as_json(after)]})
        publish(
            Event(
                type="record.updated",
                record_type=PRODUCT.key,
                record_id=product.pk,
                data={"number": product.number, "changed": ["prices"]},
                actor_id=ctx.user.pk,
                source=ctx.source,
            )
        )
    return after


# ---------------------------------------------------------------- the category tree


def can_manage_categories(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm(CATEGORY_PERMISSION))


def _require_categories(ctx: Context, permission: str = CATEGORY_PERMISSION) -> None:
    if not ctx.user.has_perm(permission) or (ctx.token is not None and not ctx.token.allows("products", write=True)):
        raise PermissionDenied(_("Only managers and administrators may change product categories."))


def category_tree(categories: Iterable[ProductCategory] | None = None) -> list[tuple[ProductCategory, int]]:
    """Every category with its depth, parents before children, siblings by order and name."""
    nodes = list(categories if categories is not None else ProductCategory.objects.all())
    children: dict[int | None, list[ProductCategory]] = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)
    for items in children.values():
        items.sort(key=lambda c: (c.order, c.name.lower(), c.pk))
    result: list[tuple[ProductCategory, int]] = []
    seen: set[int] = set()

    def walk(parent: int | None, depth: int) -> None:
        for node in children.get(parent, []):
            if node.pk in seen:
                continue
            seen.add(node.pk)
            result.append((node, depth))
            walk(node.pk, depth + 1)

    walk(None, 0)
    return result


def _check_parent(category: ProductCategory, parent: ProductCategory | None) -> None:
    if parent is None or category.pk is None:
        return
    parents = dict(ProductCategory.objects.values_list("id", "parent_id"))
    node: int | None = parent.pk
    steps = 0
    while node is not None and steps <= len(parents):
        if node == category.pk:
            raise ValidationError(
                {"parent": _("A category cannot be placed under itself or one of its own subcategories.")}
            )
        node = parents.get(node)
        steps += 1


CATEGORY_FIELDS = ["name", "parent", "order"]


def category_save(ctx: Context, category: ProductCategory | None, data: Mapping[str, Any]) -> ProductCategory:
    """Create (``category`` None) or change a category; refuses cycles. Audited."""
    is_new = category is None
    _require_categories(ctx, "products.add_productcategory" if is_new else CATEGORY_PERMISSION)
    obj = category if category is not None else ProductCategory()
    unknown = [name for name in data if name not in CATEGORY_FIELDS]
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, _("This field cannot be set.")))
    with transaction.atomic():
        before = {} if is_new else audit_log.snapshot(obj, CATEGORY_FIELDS)
        for name, value in data.items():
            if name == "parent" and value is not None and not isinstance(value, ProductCategory):
                try:
                    value = ProductCategory.objects.get(pk=value)
                except (ProductCategory.DoesNotExist, ValueError, TypeError):
                    raise ValidationError({"parent": _("Select a valid product category.")}) from None
            if name == "order" and value is None:
                continue
            setattr(obj, name, value)
        if "parent" in data:
            _check_parent(obj, obj.parent)
        if is_new and "order" not in data:
            top = ProductCategory.objects.filter(parent=obj.parent).aggregate(top=Max("order"))["top"]
            obj.order = (top or 0) + 10
        obj.full_clean()
        obj.save()
        changes = audit_log.diff(before, audit_log.snapshot(obj, CATEGORY_FIELDS))
        if changes:
            audit_log.audit(ctx, AuditAction.CREATE if is_new else AuditAction.UPDATE, obj, changes=changes)
    return obj


def category_delete(ctx: Context, category: ProductCategory) -> None:
    """Delete an empty category (no subcategories, no products, in the trash included)."""
    _require_categories(ctx, "products.delete_productcategory")
    if ProductCategory.objects.filter(parent=category).exists():
        raise ValidationError(_("Move or delete its subcategories first."))
    if Product.all_objects.filter(category=category).exists():
        raise ValidationError(_("Products are in this category: move them to another category first."))
    with transaction.atomic():
        audit_log.audit(ctx, AuditAction.DELETE, category, changes={"name": [category.name, None]})
        category.delete()
