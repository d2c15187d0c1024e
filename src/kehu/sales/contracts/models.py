"""Contracts with their payment plans, attachments and payments; orders with their lines.

Every amount is a ``Decimal`` stored next to its currency code (``currency``, an ISO 4217
code of an active ``platform.Currency``); a payment is in the currency of the contract or
order it pays. Statuses change only through ``services.contract_transition`` and
``services.order_transition`` (allowed moves in ``CONTRACT_TRANSITIONS`` / ``ORDER_TRANSITIONS``)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kehu.platform.models import BaseRecord

ZERO = Decimal("0.00")


class ContractStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    UNDER_APPROVAL = "under_approval", _("Under approval")
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    TERMINATED = "terminated", _("Terminated")
    EXPIRED = "expired", _("Expired")


# status → the statuses it may move to (the one table every path checks).
CONTRACT_TRANSITIONS: dict[str, tuple[str, ...]] = {
    ContractStatus.DRAFT: (ContractStatus.UNDER_APPROVAL, ContractStatus.ACTIVE, ContractStatus.TERMINATED),
    ContractStatus.UNDER_APPROVAL: (ContractStatus.DRAFT, ContractStatus.ACTIVE, ContractStatus.TERMINATED),
    ContractStatus.ACTIVE: (ContractStatus.COMPLETED, ContractStatus.TERMINATED, ContractStatus.EXPIRED),
    ContractStatus.COMPLETED: (),
    ContractStatus.TERMINATED: (),
    ContractStatus.EXPIRED: (ContractStatus.ACTIVE,),  # renewed by extending the end date
}
# Contracts whose amount is owed (they count in receivables and credit exposure).
CONTRACT_BILLED = (
    ContractStatus.ACTIVE,
    ContractStatus.COMPLETED,
    ContractStatus.EXPIRED,
    ContractStatus.TERMINATED,
)


class OrderStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    CONFIRMED = "confirmed", _("Confirmed")
    FULFILLED = "fulfilled", _("Fulfilled")
    CANCELLED = "cancelled", _("Cancelled")


ORDER_TRANSITIONS: dict[str, tuple[str, ...]] = {
    OrderStatus.DRAFT: (OrderStatus.CONFIRMED, OrderStatus.CANCELLED),
    OrderStatus.CONFIRMED: (OrderStatus.FULFILLED, OrderStatus.CANCELLED, OrderStatus.DRAFT),
    OrderStatus.FULFILLED: (),
    OrderStatus.CANCELLED: (OrderStatus.DRAFT,),
}
# Orders that are purchases (analytics, grading, receivables).
ORDER_BOOKED = (OrderStatus.CONFIRMED, OrderStatus.FULFILLED)


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    CASH = "cash", _("Cash")
    CARD = "card", _("Card")
    ALIPAY = "alipay", _("Alipay")
    WECHAT_PAY = "wechat_pay", _("WeChat Pay")
    CHEQUE = "cheque", _("Cheque")
    OTHER = "other", _("Other")


def _money(verbose: str | object, **options: object) -> models.DecimalField:
    return models.DecimalField(verbose, max_digits=18, decimal_places=2, **options)  # type: ignore[arg-type]


class Contract(BaseRecord):
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="contracts"
    )
    opportunity = models.ForeignKey(
        "opportunities.Opportunity",
        verbose_name=_("opportunity"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contracts",
    )
    title = models.CharField(_("title"), max_length=200)
    signed_date = models.DateField(_("signed on"), null=True, blank=True)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    amount = _money(_("amount"), validators=[MinValueValidator(ZERO)])
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"), max_length=16, choices=ContractStatus.choices, default=ContractStatus.DRAFT, editable=False
    )
    terms = models.TextField(_("terms"), blank=True)
    status_reason = models.CharField(_("reason for the status"), max_length=500, blank=True, editable=False)
    renewal_task = models.ForeignKey(
        "activities.Task",
        verbose_name=_("renewal task"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-start_date", "-id"]
        permissions = [("set_credit_limit", _("Can set customers' credit limits and ratings"))]
        indexes = [
            models.Index(fields=["customer", "status"], name="contract_customer_idx"),
            models.Index(fields=["owner", "-updated_at"], name="contract_owner_idx"),
            models.Index(fields=["-updated_at"], name="contract_updated_idx"),
            models.Index(fields=["status", "end_date"], name="contract_status_end_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}".strip() if self.number else self.title

    @property
    def name(self) -> str:
        return self.title


def attachment_path(instance: ContractAttachment, filename: str) -> str:
    return f"contracts/{instance.contract_id}/{timezone.now():%Y%m}/{filename}"


class ContractAttachment(models.Model):
    """A file of a contract (the signed PDF, a scan): kept in the data directory's media
    folder and served only to users who can see the contract (no public URL)."""

    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=300)
    name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("contract attachment")
        verbose_name_plural = _("contract attachments")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.name


class PaymentInstalment(models.Model):
    """One line of a contract's payment plan; the plan's total is the contract's amount."""

    contract = models.ForeignKey(Contract, verbose_name=_("contract"), on_delete=models.CASCADE, related_name="plan")
    due_date = models.DateField(_("due date"))
    amount = _money(_("amount"), validators=[MinValueValidator(Decimal("0.01"))])
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        ordering = ["due_date", "id"]
        indexes = [models.Index(fields=["contract", "due_date"], name="instalment_contract_due_idx")]

    def __str__(self) -> str:
        return f"{self.due_date} {self.amount}"


class Order(BaseRecord):
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="orders"
    )
    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    opportunity = models.ForeignKey(
        "opportunities.Opportunity",
        verbose_name=_("opportunity"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
    )
    order_date = models.DateField(_("order date"), default=timezone.localdate)
    status = models.CharField(
        _("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.DRAFT, editable=False
    )
    currency = models.CharField(_("currency"), max_length=3)
    subtotal = _money(_("subtotal"), default=ZERO, editable=False)
    tax = _money(_("tax"), default=ZERO, editable=False)
    total = _money(_("total"), default=ZERO, editable=False)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-order_date", "-id"]
        indexes = [
            models.Index(fields=["customer", "status", "order_date"], name="order_customer_idx"),
            models.Index(fields=["owner", "-updated_at"], name="order_owner_idx"),
            models.Index(fields=["-updated_at"], name="order_updated_idx"),
        ]

    def __str__(self) -> str:
        return self.number or ""

    @property
    def name(self) -> str:
        return self.number


class OrderLine(models.Model):
    """A line of an order: ``amount`` = quantity × unit price × (1 − discount), rounded to the
    order currency's places; ``tax_amount`` = amount × tax rate, rounded the same way."""

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(_("position"), default=0)
    product = models.ForeignKey(
        "products.Product",
        verbose_name=_("product"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="order_lines",
    )
    description = models.CharField(_("description"), max_length=300, blank=True)
    quantity = models.DecimalField(
        _("quantity"), max_digits=18, decimal_places=4, validators=[MinValueValidator(Decimal("0.0001"))]
    )
    unit_price = models.DecimalField(
        _("unit price"), max_digits=18, decimal_places=4, validators=[MinValueValidator(Decimal(0))]
    )
    discount_percent = models.DecimalField(
        _("discount %"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )
    tax_rate = models.DecimalField(
        _("tax rate %"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )
    amount = _money(_("amount"), default=ZERO)
    tax_amount = _money(_("tax amount"), default=ZERO)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.description or str(self.product or "")


class Payment(BaseRecord):
    """Money received for a contract or an order (exactly one of them), in its currency."""

    customer = models.ForeignKey(  # the customer of the contract or order (set from it)
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="payments",
        blank=True,
    )
    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    received_on = models.DateField(_("received on"), default=timezone.localdate)
    amount = _money(_("amount"), validators=[MinValueValidator(Decimal("0.01"))])
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    method = models.CharField(
        _("method"), max_length=16, choices=PaymentMethod.choices, default=PaymentMethod.BANK_TRANSFER
    )
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    invoice_number = models.CharField(_("invoice number"), max_length=100, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-received_on", "-id"]
        indexes = [
            models.Index(fields=["customer", "received_on"], name="payment_customer_idx"),
            models.Index(fields=["contract"], name="payment_contract_idx"),
            models.Index(fields=["order"], name="payment_order_idx"),
            models.Index(fields=["-updated_at"], name="payment_updated_idx"),
        ]

    def __str__(self) -> str:
        return self.number or ""

    @property
    def name(self) -> str:
        return self.number
