"""Contract status moves, payment plans, attachments, order lines, the receivables page and
the customer's receivables panel. Thin: reads through selectors, writes through services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.platform.access import can
from kehu.platform.context import Context
from kehu.platform.errors import NotVisible, StaleVersion
from kehu.platform.views import safe_next
from kehu.sales.contracts import credit, selectors, services
from kehu.sales.contracts.forms import AttachmentForm, CreditForm, PlanSplitForm
from kehu.sales.contracts.models import ContractAttachment, OrderStatus
from kehu.sales.contracts.records import CONTRACT, ORDER


def _errors(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(str(m) for messages_ in error.message_dict.values() for m in messages_)
    return "; ".join(str(m) for m in error.messages)


def _version(request: HttpRequest) -> int | None:
    value = request.POST.get("version") or ""
    return int(value) if value.isdigit() else None


def _contract(request: HttpRequest, pk: int) -> Any:
    try:
        return services.contract_get(Context.from_request(request), pk)
    except NotVisible:
        raise Http404 from None


def _order(request: HttpRequest, pk: int) -> Any:
    try:
        return services.order_get(Context.from_request(request), pk)
    except NotVisible:
        raise Http404 from None


def _run(request: HttpRequest, action: Any, success: str) -> bool:
    try:
        action()
    except StaleVersion:
        messages.error(request, str(StaleVersion.message))
    except ValidationError as error:
        messages.error(request, _errors(error))
    else:
        if success:
            messages.success(request, success)
        return True
    return False


@login_required
@require_POST
def contract_transition(request: HttpRequest, pk: int) -> HttpResponse:
    if not can(request.user, CONTRACT, "change"):
        raise PermissionDenied
    contract = _contract(request, pk)
    status, reason = request.POST.get("status", ""), request.POST.get("reason", "")
    ctx = Context.from_request(request)
    ok = _run(
        request, lambda: services.contract_transition(ctx, contract, status, reason, version=_version(request)), ""
    )
    if ok:
        messages.success(
            request, _("%(record)s is now %(status)s.") % {"record": contract, "status": contract.get_status_display()}
        )
        warning = credit.check_record(contract)
        if warning:
            messages.warning(request, warning)
    return HttpResponseRedirect(contract.get_absolute_url())


@login_required
@require_POST
def contract_plan(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the plan from the page's rows (``due_date``, ``amount``, ``note`` repeated)."""
    if not can(request.user, CONTRACT, "change"):
        raise PermissionDenied
    contract = _contract(request, pk)
    dues, amounts, notes = (request.POST.getlist(name) for name in ("due_date", "amount", "note"))
    rows = [
        {"due_date": due, "amount": amount, "note": note}
        for due, amount, note in zip(dues, amounts, notes + [""] * (len(dues) - len(notes)), strict=False)
        if due.strip() or amount.strip()
    ]
    ctx = Context.from_request(request)
    _run(
        request,
        lambda: services.contract_set_plan(ctx, contract, rows, version=_version(request)),
        _("Payment plan saved."),
    )
    return HttpResponseRedirect(contract.get_absolute_url() + "#plan")


@login_required
@require_POST
def contract_plan_split(request: HttpRequest, pk: int) -> HttpResponse:
    """Replace the plan by N equal instalments (``money.allocate``: exact to the cent)."""
    if not can(request.user, CONTRACT, "change"):
        raise PermissionDenied
    contract = _contract(request, pk)
    form = PlanSplitForm(request.POST)
    if not form.is_valid():
        messages.error(request, _errors(ValidationError(form.errors)))
        return HttpResponseRedirect(contract.get_absolute_url() + "#plan")
    ctx = Context.from_request(request)
    data = form.cleaned_data

    _run(
        request,
        lambda: services.contract_split_plan(
            ctx,
            contract,
            data["count"],
            data["first_due"],
            every_months=data["every_months"],
            version=data.get("version"),
        ),
        _("Payment plan saved."),
    )
    return HttpResponseRedirect(contract.get_absolute_url() + "#plan")


@login_required
@require_POST
def attachment_upload(request: HttpRequest, pk: int) -> HttpResponse:
    if not can(request.user, CONTRACT, "change"):
        raise PermissionDenied
    contract = _contract(request, pk)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _errors(ValidationError(form.errors)))
    else:
        ctx = Context.from_request(request)
        upload = form.cleaned_data["file"]
        _run(
            request,
            lambda: services.contract_add_attachment(ctx, contract, upload),
            _("%(name)s attached.") % {"name": upload.name},
        )
    return HttpResponseRedirect(contract.get_absolute_url() + "#attachments")


def _attachment(request: HttpRequest, pk: int, attachment_id: int) -> tuple[Any, ContractAttachment]:
    contract = _contract(request, pk)  # visible contracts only: 404 otherwise
    attachment = ContractAttachment.objects.filter(pk=attachment_id, contract=contract).first()
    if attachment is None:
        raise Http404
    return contract, attachment


@login_required
def attachment_download(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponseBase:
    """The file, to users who can see the contract (there is no public media URL)."""
    if not can(request.user, CONTRACT, "view"):
        raise PermissionDenied
    _contract_obj, attachment = _attachment(request, pk, attachment_id)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=attachment.content_type, as_attachment=True, filename=attachment.name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    return response


@login_required
@require_POST
def attachment_delete(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    if not can(request.user, CONTRACT, "change"):
        raise PermissionDenied
    contract, attachment = _attachment(request, pk, attachment_id)
    ctx = Context.from_request(request)
    _run(
        request,
        lambda: services.contract_remove_attachment(ctx, contract, attachment),
        _("%(name)s removed.") % {"name": attachment.name},
    )
    return HttpResponseRedirect(contract.get_absolute_url() + "#attachments")


@login_required
@require_POST
def order_transition(request: HttpRequest, pk: int) -> HttpResponse:
    if not can(request.user, ORDER, "change"):
        raise PermissionDenied
    order = _order(request, pk)
    status = request.POST.get("status", "")
    ctx = Context.from_request(request)
    if _run(request, lambda: services.order_transition(ctx, order, status, version=_version(request)), ""):
        messages.success(
            request, _("%(record)s is now %(status)s.") % {"record": order, "status": order.get_status_display()}
        )
        warning = credit.check_record(order)
        if warning:
            messages.warning(request, warning)
    return HttpResponseRedirect(order.get_absolute_url())


LINE_FIELDS = ("product", "description", "quantity", "unit_price", "discount_percent", "tax_rate")
BLANK_LINES = 3


@login_required
def order_lines(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a draft order's lines (the totals follow)."""
    if not can(request.user, ORDER, "change"):
        raise PermissionDenied
    order = _order(request, pk)
    error = ""
    if request.method == "POST":
        columns = {name: request.POST.getlist(name) for name in LINE_FIELDS}
        count = max((len(values) for values in columns.values()), default=0)
        rows = []
        for index in range(count):
            row = {name: (columns[name][index] if index < len(columns[name]) else "").strip() for name in LINE_FIELDS}
            if any(row[name] for name in ("product", "description", "unit_price")):
                rows.append({name: value for name, value in row.items() if value != ""})
        try:
            services.order_set_lines(Context.from_request(request), order, rows, version=_version(request))
        except StaleVersion:
            error = str(StaleVersion.message)
        except ValidationError as invalid:
            error = _errors(invalid)
        else:
            messages.success(request, _("Lines saved."))
            warning = credit.check_record(order)
            if warning:
                messages.warning(request, warning)
            return HttpResponseRedirect(order.get_absolute_url())
        lines: list[Any] = rows
    else:
        lines = [
            {name: getattr(line, f"{name}_id" if name == "product" else name) for name in LINE_FIELDS}
            for line in order.lines.all()
        ]
    context = {
        "order": order,
        "lines": lines + [{}] * BLANK_LINES,
        "products": selectors.products_for(request.user),
        "error": error,
        "editable": order.status == OrderStatus.DRAFT,
    }
    return render(request, "contracts/order_lines.html", context, status=422 if error else 200)


@login_required
@require_POST
def order_from_opportunity(request: HttpRequest, pk: int) -> HttpResponse:
    if not can(request.user, ORDER, "add"):
        raise PermissionDenied
    try:
        opportunity = selectors.opportunity_get(request.user, pk)
    except NotVisible:
        raise Http404 from None
    try:
        order = services.order_from_opportunity(Context.from_request(request), opportunity)
    except ValidationError as error:
        messages.error(request, _errors(error))
        return HttpResponseRedirect(safe_next(request, opportunity.get_absolute_url()))
    messages.success(request, _("Order %(order)s created from the opportunity.") % {"order": order.number})
    return HttpResponseRedirect(order.get_absolute_url())


@login_required
def receivables_page(request: HttpRequest) -> HttpResponse:
    """Per customer: outstanding, overdue and the ageing buckets; filters owner and team."""
    if not can(request.user, CONTRACT, "view"):
        raise PermissionDenied
    owner, team = request.GET.get("owner", ""), request.GET.get("team", "")
    report = selectors.receivables_report(
        request.user,
        owner=int(owner) if owner.isdigit() else None,
        team=int(team) if team.isdigit() else None,
        overdue_only=request.GET.get("overdue") == "1",
    )
    page = Paginator(report.rows, 100).get_page(request.GET.get("page"))
    context = {
        "report": report,
        "page": page,
        "owners": selectors.owner_choices(request.user),
        "teams": selectors.team_choices(request.user),
        "owner": owner,
        "team": team,
        "overdue_only": request.GET.get("overdue") == "1",
    }
    return render(request, "contracts/receivables.html", context)


@login_required
def customer_receivables(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The customer page's panel: outstanding, overdue, buckets, credit limit and rating,
    the last payments; managers set the limit here."""
    if not can(request.user, CONTRACT, "view"):
        raise PermissionDenied
    try:
        customer = selectors.customer_get(request.user, customer_id)
    except NotVisible:
        raise Http404 from None
    error = ""
    may_set = request.user.has_perm("contracts.set_credit_limit")
    if request.method == "POST":
        if not may_set:
            raise PermissionDenied
        form = CreditForm(request.POST)
        if form.is_valid():
            try:
                services.credit_set(
                    Context.from_request(request),
                    customer,
                    limit=form.cleaned_data["credit_limit"],
                    rating=form.cleaned_data["credit_rating"],
                )
            except ValidationError as invalid:
                error = _errors(invalid)
        else:
            error = _errors(ValidationError(form.errors))
    summary = selectors.customer_summary(request.user, customer)
    context = {
        "customer": customer,
        "summary": summary,
        "may_set": may_set,
        "credit_form": CreditForm(
            initial={"credit_limit": customer.credit_limit, "credit_rating": customer.credit_rating}
        ),
        "error": error,
    }
    template = (
        "contracts/_customer_receivables.html"
        if getattr(request, "htmx", False)
        else "contracts/customer_receivables.html"
    )
    return render(request, template, context, status=422 if error else 200)
