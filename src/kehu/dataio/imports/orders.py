"""Importing orders with their lines.

Each row is one order line. Consecutive rows with the same value in the order reference column
(订单号, "Order ID", …) form one order: its customer, date, currency and notes come from the
first of those rows, and every row adds a line (product by code or exact name, quantity, unit
price, discount). Rows of one order must follow each other in the file; the same reference
further down starts another order. Without an order reference column every row is an order
of one line. The order is written with the contracts app's services (``order_create``, then
``order_set_lines``: the same checks as the order pages), in a savepoint: when any of its rows
is wrong (an unknown product, a bad quantity) none of them is imported, each with the reason.
The currency defaults to the reporting currency."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.dataio.imports import convert
from kehu.dataio.imports.engine import GenericImporter, Outcome, Row, _messages, batch_size
from kehu.dataio.imports.mapping import SYNONYMS, ImportField
from kehu.dataio.imports.services import register_importer
from kehu.platform.access import visible_to
from kehu.platform.records import RecordType, registry

REF = "order_ref"
LINE_FIELDS = {
    "line.product": (gettext_lazy("Product (code or name)"), "text"),
    "line.quantity": (gettext_lazy("Quantity"), "decimal"),
    "line.unit_price": (gettext_lazy("Unit price"), "decimal"),
    "line.discount_percent": (gettext_lazy("Discount (%)"), "decimal"),
    "line.description": (gettext_lazy("Line description"), "text"),
}
SYNONYMS["order"].update(
    {
        REF: ["订单号", "订单参考号", "单号", "外部订单号", "Order ID", "Order Reference", "Order No", "Order Number"],
        "line.product": [
            "产品编码",
            "产品代码",
            "产品",
            "产品名称",
            "商品",
            "商品编码",
            "SKU",
            "Product",
            "Product Code",
        ],
        "line.quantity": ["数量", "Quantity", "Qty"],
        "line.unit_price": ["单价", "价格", "Unit Price", "Price"],
        "line.discount_percent": ["折扣", "折扣（%）", "Discount"],
        "line.description": ["明细说明", "行说明", "Line Description"],
    }
)


class OrderImporter(GenericImporter):
    def extra_fields(self, rt: RecordType) -> list[ImportField]:
        fields = [
            ImportField(
                REF, str(_("Order reference")), False, "text", str(_("Rows with the same reference form one order."))
            )
        ]
        fields += [
            ImportField(name, str(label), name == "line.product", kind) for name, (label, kind) in LINE_FIELDS.items()
        ]
        return fields

    def optional_fields(self, rt: RecordType) -> list[str]:
        return ["currency"]

    def batches(self, rows: Iterator[tuple[int, list[Any]]]) -> Iterator[list[tuple[int, list[Any]]]]:
        """Batches of whole orders (a batch ends where an order ends)."""
        column = next((c.index for c in self.columns if c.name == REF), None)
        size = self.batch_size or batch_size()
        batch: list[tuple[int, list[Any]]] = []
        previous: Any = object()
        for line, cells in rows:
            ref = convert.text(cells[column]) if column is not None and column < len(cells) else None
            if len(batch) >= size and (ref is None or ref != previous):
                yield batch
                batch = []
            batch.append((line, cells))
            previous = ref
        if batch:
            yield batch

    def convert_cell(self, column: Any, cell: Any) -> Any:
        if column.name == REF or column.name.startswith("line."):
            kind = LINE_FIELDS.get(column.name, ("", "text"))[1]
            return convert.to_decimal(cell) if kind == "decimal" else convert.text(cell)
        return super().convert_cell(column, cell)

    def _products(self, rows: list[Row]) -> dict[str, list[Any]]:
        texts = {str(row.data["line.product"]) for row in rows if row.data.get("line.product")}
        product_rt = registry.get("product")
        if not texts or product_rt is None:
            return {}
        found: dict[str, list[Any]] = {}
        queryset = visible_to(self.ctx.user, product_rt.model.objects.all(), product_rt)
        for product in queryset.filter(Q(code__in=texts) | Q(name__in=texts) | Q(number__in=texts)):
            for word in {product.code, product.name, product.number}:
                found.setdefault(word, []).append(product)
        return found

    def prepare(self, batch: list[tuple[int, list[Any]]]) -> list[Row]:
        return self.read_rows(batch)  # an order is checked as a whole, with its lines, when written

    def run_batch(self, rows: list[Row]) -> Outcome:
        from kehu.sales.contracts import services as contracts
        from kehu.sales.contracts.models import Order

        outcome = Outcome()
        products = self._products(rows)
        groups = [list(group) for _ref, group in itertools.groupby(rows, key=lambda r: r.data.get(REF) or f"#{r.line}")]
        for group in groups:
            head = group[0]
            lines: list[dict[str, Any]] = []
            for row in group:
                name = row.data.get("line.product")
                header = self.header_of.get("line.product", "line.product")
                candidates = products.get(str(name), []) if name else []
                if name and not candidates:
                    row.errors.setdefault(header, []).append(_("No product “%(value)s”.") % {"value": name})
                elif len(candidates) > 1:
                    row.errors.setdefault(header, []).append(
                        _("Several products are called “%(value)s”: give the code.") % {"value": name}
                    )
                line: dict[str, Any] = {"product": candidates[0].pk if candidates else None}
                for key in ("quantity", "unit_price", "discount_percent", "description"):
                    value = row.data.get(f"line.{key}")
                    if value not in (None, ""):
                        line[key] = value
                lines.append(line)
            data = {
                k: v for k, v in head.data.items() if k not in (REF, "number", "tags") and not k.startswith("line.")
            }
            data.setdefault("currency", contracts.reporting_currency())
            if any(row.errors for row in group):
                self._reject_group(group, outcome)
                continue
            try:
                with transaction.atomic():
                    if self.dry_run:
                        order = Order(currency=data["currency"])
                        contracts.build_lines(order, lines)
                        head.data = data
                        self.build(head)
                        if head.errors:
                            raise ValidationError(head.errors)
                    else:
                        order = contracts.order_create(self.ctx, {**data, "tags": head.data.get("tags") or []})
                        contracts.order_set_lines(self.ctx, order, lines)
            except ValidationError as error:
                self._errors_to_rows(group, _messages(error))
                self._reject_group(group, outcome)
                continue
            except PermissionDenied as error:
                head.errors = {"__all__": [str(error)]}
                self._reject_group(group, outcome)
                continue
            outcome.created += 1
        return outcome

    def _errors_to_rows(self, group: list[Row], errors: dict[str, list[str]]) -> None:
        for key, messages in errors.items():
            parts = key.split(".")
            if parts[0] == "lines" and len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(group):
                row = group[int(parts[1])]
                name = f"line.{parts[2]}" if len(parts) > 2 else "line.product"
                row.errors.setdefault(self.header_of.get(name, name), []).extend(messages)
            else:
                group[0].errors.setdefault(self.header_of.get(key, key), []).extend(messages)

    def _reject_group(self, group: list[Row], outcome: Outcome) -> None:
        bad = [row.line for row in group if row.errors]
        for row in group:
            if not row.errors:
                row.errors = {
                    "__all__": [_("Another line of this order was rejected (line %(line)s).") % {"line": bad[0]}]
                }
            outcome.reject(row)


register_importer("order", OrderImporter)
