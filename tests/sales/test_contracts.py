"""Contracts: dates, statuses and their allowed moves, payment plans, payments, paid /
outstanding / overdue, the renewal task, attachments, permissions and visibility."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from kehu.activities.models import Task
from kehu.platform import services as record_services
from kehu.platform.errors import NotVisible, StaleVersion
from kehu.platform.models import AuditEntry
from kehu.sales.contracts import attachments, receivables, services
from kehu.sales.contracts.models import Contract, Payment
from kehu.sales.contracts.records import CONTRACT
from tests.sales.contracts_support import *  # noqa: F403
from tests.sales.contracts_support import START, D, ctx_of

pytestmark = pytest.mark.django_db


def messages_of(error: pytest.ExceptionInfo[ValidationError]) -> str:
    return " ".join(m for ms in error.value.message_dict.values() for m in ms)


# ---------------------------------------------------------------- fields and statuses


def test_end_date_before_start_is_refused(rep: Any, customer: Any, make_contract: Any) -> None:
    with pytest.raises(ValidationError) as error:
        make_contract(rep, customer, end_date=START - datetime.timedelta(days=1))
    assert "end date must not be before the start date" in error.value.message_dict["end_date"][0]


def test_unknown_currency_is_refused(rep: Any, customer: Any, make_contract: Any) -> None:
    with pytest.raises(ValidationError) as error:
        make_contract(rep, customer, currency="XYZ")
    assert "XYZ is not an active currency" in error.value.message_dict["currency"][0]


def test_currency_defaults_to_the_reporting_currency(rep: Any, customer: Any, make_contract: Any) -> None:
    assert make_contract(rep, customer, currency="").currency == "CNY"


def test_new_contract_is_draft_and_numbered(rep: Any, customer: Any, make_contract: Any) -> None:
    contract = make_contract(rep, customer)
    assert contract.status == "draft"
    assert contract.number.startswith("CT-")
    assert contract.owner == rep


def test_status_is_not_writable_through_the_generic_update(rep: Any, customer: Any, make_contract: Any) -> None:
    contract = make_contract(rep, customer)
    with pytest.raises(ValidationError) as error:
        record_services.record_update(CONTRACT, ctx=ctx_of(rep), obj=contract, data={"status": "active"})
    assert "status" in error.value.message_dict
    assert Contract.objects.get(pk=contract.pk).status == "draft"


def test_allowed_transitions_move_the_status_with_audit(rep: Any, customer: Any, make_contract: Any) -> None:
    contract = make_contract(rep, customer)
    services.contract_transition(ctx_of(rep), contract, "under_approval")
    services.contract_transition(ctx_of(rep), contract, "active")
    services.contract_transition(ctx_of(rep), contract, "completed")
    assert Contract.objects.get(pk=contract.pk).status == "completed"
    entries = AuditEntry.objects.filter(object_id=str(contract.pk), action="update").order_by("id")
    statuses = [e.changes["status"] for e in entries if "status" in e.changes]
    assert statuses == [["draft", "under_approval"], ["under_approval", "active"], ["active", "completed"]]


def test_refused_transition_names_the_allowed_ones(rep: Any, customer: Any, make_contract: Any) -> None:
    contract = make_contract(rep, customer, status="active")
    with pytest.raises(ValidationError) as error:
        services.contract_transition(ctx_of(rep), contract, "draft")
    text = error.value.message_dict["status"][0]
    assert "cannot move from Active to Draft" in text
    assert "Completed" in text
    assert "Terminated" in text


def test_closed_contract_cannot_move_at_all(rep: Any, customer: Any, make_contract: Any) -> None:
    contract = make_contract(rep, customer, status="active")
    services.contract_transition(ctx_of(rep), contract, "terminated", "Customer went bankrupt")
    with pytest.raises(ValidationError) as error:
        services.contract_transition(ctx_of(rep), contract, "active")
    assert "none, it is closed" in error.value.message_dict["status"][0]


def test_terminating_needs_a_reason(rep: Any, customer: Any, make_contract: Any) -> None:
    contract = make_contract(rep, customer, status="active")
    with pytest.raises(ValidationError) as error:
        services.contract_transition(ctx_of(rep), contract, "terminated")
    assert "reason" in error.value.message_dict
    services.contract_transition(ctx_of(rep), contract, "terminated", "Breach of terms")
    assert Contract.objects.get(pk=contract.pk).status_reason == "Breach of terms"


def test_stale_version_refuses_the_transition(rep: Any, customer: Any, make_contract: Any) -> None:
    contract = make_contract(rep, customer)
    with pytest.raises(StaleVersion):
        services.contract_transition(ctx_of(rep), contract, "active", version=contract.version - 1)


def test_reader_cannot_move_a_contract(rep: Any, reader: Any, customer: Any, make_contract: Any) -> None:
    contract = make_contract(rep, customer)
    with pytest.raises(PermissionDenied):
        services.contract_transition(ctx_of(reader), contract, "active")


def test_other_team_cannot_see_the_contract(rep: Any, other_rep: Any, customer: Any, make_contract: Any) -> None:
    contract = make_contract(rep, customer)
    with pytest.raises(NotVisible):
        services.contract_get(ctx_of(other_rep), contract.pk)


# ---------------------------------------------------------------- plan


def test_plan_that_does_not_add_up_is_refused_with_both_figures(rep: Any, customer: Any, make_contract: Any) -> None:
    contract = make_contract(rep, customer)
    with pytest.raises(ValidationError) as error:
        services.contract_set_plan(
            ctx_of(rep),
            contract,
            [{"due_date": "2026-02-01", "amount": "5000.00"}, {"due_date": "2026-03-01", "amount": "6999.99"}],
        )
    text = error.value.message_dict["plan"][0]
    assert "11,999.99 CNY" in text
    assert "12,000.00 CNY" in text
    assert "0.01 CNY" in text
    assert not contract.plan.exists()


def test_plan_rows_with_bad_values_name_the_row(rep: Any, customer: Any, make_contract: Any) -> None:
    contract = make_contract(rep, customer)
    with pytest.raises(ValidationError) as error:
        services.contract_set_plan(
            ctx_of(rep),
            contract,
            [{"due_date": "not a date", "amount": "12000.001"}, {"due_date": "2026-01-01", "amount": 1.5}],
        )
    errors = error.value.message_dict
    assert "plan.0.due_date" in errors
    assert "plan.0.amount" in errors
    assert "never floating-point" in errors["plan.1.amount"][0]


def test_plan_is_saved_in_due_order_and_audited(rep: Any, customer: Any, make_contract: Any) -> None:
    contract = make_contract(rep, customer)
    version = contract.version
    services.contract_set_plan(
        ctx_of(rep),
        contract,
        [{"due_date": "2026-03-01", "amount": "2000.00"}, {"due_date": "2026-02-01", "amount": "10000.00"}],
    )
    assert [(i.due_date.isoformat(), i.amount) for i in contract.plan.all()] == [
        ("2026-02-01", D("10000.00")),
        ("2026-03-01", D("2000.00")),
    ]
    assert Contract.objects.get(pk=contract.pk).version == version + 1
    entry = AuditEntry.objects.filter(object_id=str(contract.pk)).order_by("-id").first()
    assert entry.changes["plan"][1] == "2026-02-01 10000.00; 2026-03-01 2000.00"


def test_split_evenly_puts_the_leftover_cents_first(rep: Any, customer: Any, make_contract: Any) -> None:
    rows = services.split_evenly(D("100.00"), "CNY", 3, datetime.date(2026, 1, 31))
    assert [r["amount"] for r in rows] == [D("33.34"), D("33.33"), D("33.33")]
    assert [r["due_date"] for r in rows] == [
        datetime.date(2026, 1, 31),
        datetime.date(2026, 2, 28),
        datetime.date(2026, 3, 31),
    ]


def test_amount_change_against_the_plan_is_refused(rep: Any, customer: Any, make_contract: Any) -> None:
    contract = make_contract(rep, customer, plan=[("2026-02-01", "12000.00")])
    with pytest.raises(ValidationError) as error:
        record_services.record_update(CONTRACT, ctx=ctx_of(rep), obj=contract, data={"amount": D("13000.00")})
    assert "payment plan totals 12,000.00 CNY" in error.value.message_dict["amount"][0]


# ---------------------------------------------------------------- payments and balance


def test_payments_pay_the_earliest_instalment_first(rep: Any, customer: Any, make_contract: Any, pay: Any) -> None:
    contract = make_contract(
        rep,
        customer,
        status="active",
        plan=[("2026-01-10", "4000.00"), ("2026-02-10", "4000.00"), ("2026-03-10", "4000.00")],
    )
    pay(rep, contract, "5000.00", datetime.date(2026, 1, 9))
    balance = receivables.contract_balances([contract], today=datetime.date(2026, 3, 1))[contract.pk]
    assert balance.paid == D("5000.00")
    assert balance.outstanding == D("7000.00")
    assert balance.overdue == D("3000.00")  # the February instalment less the 1,000 paid ahead
    assert [d.unpaid for d in balance.dues] == [D("0.00"), D("3000.00"), D("4000.00")]


def test_contract_without_plan_is_due_on_its_start_date(rep: Any, customer: Any, make_contract: Any) -> None:
    contract = make_contract(rep, customer, status="active")
    assert receivables.contract_balances([contract], today=START)[contract.pk].overdue == D("0.00")
    later = receivables.contract_balances([contract], today=START + datetime.timedelta(days=1))[contract.pk]
    assert later.overdue == D("12000.00")


def test_payment_follows_its_contract(rep: Any, teammate: Any, customer: Any, make_contract: Any, pay: Any) -> None:
    contract = make_contract(rep, customer, status="active")
    payment = pay(teammate, contract, "100.00", method="alipay", reference="AP-1", invoice_number="INV-9")
    assert (payment.customer, payment.owner, payment.team, payment.currency) == (customer, rep, rep.team, "CNY")
    assert payment.number.startswith("PAY-")


def test_overpayment_is_refused_with_the_outstanding_amount(
    rep: Any, customer: Any, make_contract: Any, pay: Any
) -> None:
    contract = make_contract(rep, customer, status="active")
    pay(rep, contract, "11000.00")
    with pytest.raises(ValidationError) as error:
        pay(rep, contract, "1000.01")
    assert "1,000.00 CNY outstanding" in error.value.message_dict["amount"][0]


def test_payment_in_another_currency_is_refused(rep: Any, customer: Any, make_contract: Any, pay: Any) -> None:
    contract = make_contract(rep, customer, status="active")
    with pytest.raises(ValidationError) as error:
        pay(rep, contract, "10.00", currency="USD")
    assert "record the payment in CNY" in error.value.message_dict["currency"][0]


def test_payment_on_a_draft_contract_is_refused(rep: Any, customer: Any, make_contract: Any, pay: Any) -> None:
    contract = make_contract(rep, customer)
    with pytest.raises(ValidationError) as error:
        pay(rep, contract, "10.00")
    assert "once the contract is active" in error.value.message_dict["contract"][0]


def test_payment_needs_a_contract_or_an_order(rep: Any) -> None:
    with pytest.raises(ValidationError) as error:
        services.payment_create(ctx_of(rep), {"amount": D("1.00")})
    assert "contract" in error.value.message_dict
    assert not Payment.objects.exists()


# ---------------------------------------------------------------- renewal task


def test_activating_creates_the_renewal_task_once(rep: Any, customer: Any, make_contract: Any, settings: Any) -> None:
    settings.KEHU_RENEWAL_NOTICE_DAYS = 45
    contract = make_contract(rep, customer, end_date=datetime.date(2026, 12, 31), status="active")
    contract.refresh_from_db()
    task = contract.renewal_task
    assert task is not None
    assert task.owner == rep
    assert task.customer == customer
    assert task.title == f"Renew {contract}"
    assert task.due_at.date() == datetime.date(2026, 11, 16)
    services.contract_transition(ctx_of(rep), contract, "expired")
    contract.refresh_from_db()
    record_services.record_update(
        CONTRACT, ctx=ctx_of(rep), obj=contract, data={"end_date": datetime.date(2027, 12, 31)}
    )
    services.contract_transition(ctx_of(rep), contract, "active")
    assert Task.objects.filter(title__startswith="Renew").count() == 1


def test_moving_the_end_date_moves_the_open_renewal_task(rep: Any, customer: Any, make_contract: Any) -> None:
    contract = make_contract(rep, customer, end_date=datetime.date(2026, 12, 31), status="active")
    contract.refresh_from_db()
    record_services.record_update(
        CONTRACT, ctx=ctx_of(rep), obj=contract, data={"end_date": datetime.date(2027, 6, 30)}
    )
    assert Task.objects.get(pk=contract.renewal_task_id).due_at.date() == datetime.date(2027, 5, 31)


def test_an_active_contract_makes_a_lead_a_customer(rep: Any, make_customer: Any, make_contract: Any) -> None:
    lead = make_customer(rep, name="Lead Co", stage="lead")
    make_contract(rep, lead)
    lead.refresh_from_db()
    assert lead.stage_id == "lead"  # a draft is no deal yet
    make_contract(rep, lead, status="active")
    lead.refresh_from_db()
    assert lead.stage_id == "active"


def test_contract_without_end_date_gets_no_renewal_task(rep: Any, customer: Any, make_contract: Any) -> None:
    make_contract(rep, customer, status="active")
    assert not Task.objects.exists()


# ---------------------------------------------------------------- attachments


PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def test_pdf_attachment_is_kept(rep: Any, customer: Any, make_contract: Any, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    contract = make_contract(rep, customer)
    attachment = services.contract_add_attachment(
        ctx_of(rep), contract, SimpleUploadedFile("signed contract.pdf", PDF, content_type="text/plain")
    )
    assert attachment.content_type == "application/pdf"  # from the bytes, not the browser's word
    assert attachment.name == "signed contract.pdf"
    assert attachment.file.read() == PDF


def test_executable_disguised_as_pdf_is_refused(rep: Any, customer: Any, make_contract: Any) -> None:
    contract = make_contract(rep, customer)
    upload = SimpleUploadedFile("invoice.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 100)
    with pytest.raises(ValidationError) as error:
        services.contract_add_attachment(ctx_of(rep), contract, upload)
    assert "cannot be attached. Allowed: PDF, PNG" in error.value.message_dict["file"][0]


def test_attachment_over_20_mb_is_refused_before_reading(rep: Any, customer: Any, make_contract: Any) -> None:
    contract = make_contract(rep, customer)

    class Huge:
        name, size = "big.pdf", attachments.MAX_SIZE + 1

        def read(self, *args: Any) -> bytes:
            raise AssertionError("read a file that is too large")

    with pytest.raises(ValidationError) as error:
        services.contract_add_attachment(ctx_of(rep), contract, Huge())
    assert "at most 20 MB" in error.value.message_dict["file"][0]


def test_text_and_office_files_are_recognised() -> None:
    assert attachments.check(SimpleUploadedFile("notes.txt", "合同备注 notes\n".encode())) == "text/plain"
    assert attachments.check(SimpleUploadedFile("scan.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)) == "image/png"
    docx = SimpleUploadedFile("terms.docx", b"PK\x03\x04" + b"\x00" * 64)
    assert attachments.check(docx).endswith("wordprocessingml.document")
    with pytest.raises(ValidationError):
        attachments.check(SimpleUploadedFile("notes.txt", b"\x00\x01\x02binary"))


def test_stored_name_cannot_walk_out_of_the_folder() -> None:
    assert "/" not in attachments.stored_name("../../etc/passwd.pdf")
    assert attachments.clean_name("C:\\Users\\me\\合同.pdf") == "合同.pdf"


def test_download_only_for_users_who_see_the_contract(
    client: Any, rep: Any, other_rep: Any, customer: Any, make_contract: Any, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    contract = make_contract(rep, customer)
    attachment = services.contract_add_attachment(ctx_of(rep), contract, SimpleUploadedFile("c.pdf", PDF))
    url = f"/contracts/{contract.pk}/attachments/{attachment.pk}/"
    client.force_login(other_rep)
    assert client.get(url).status_code == 404
    client.force_login(rep)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF


def test_upload_through_the_page_shows_the_refusal(client: Any, rep: Any, customer: Any, make_contract: Any) -> None:
    contract = make_contract(rep, customer)
    client.force_login(rep)
    response = client.post(
        f"/contracts/{contract.pk}/attachments/",
        {"file": SimpleUploadedFile("x.pdf", b"not a pdf at all")},
        follow=True,
    )
    assert "cannot be attached" in response.content.decode()
    assert not contract.attachments.exists()


# ---------------------------------------------------------------- pages


def test_contract_page_shows_balance_plan_and_actions(
    client: Any, rep: Any, customer: Any, make_contract: Any, pay: Any
) -> None:
    contract = make_contract(
        rep, customer, status="active", plan=[("2026-01-10", "6000.00"), ("2026-02-10", "6000.00")]
    )
    pay(rep, contract, "1000.00")
    client.force_login(rep)
    page = client.get(f"/contracts/{contract.pk}/").content.decode()
    assert 'data-testid="contract-outstanding"' in page
    assert "11,000.00" in page
    assert 'data-testid="to-completed"' in page
    assert 'data-testid="split-form"' in page


def test_transition_from_the_page(client: Any, rep: Any, customer: Any, make_contract: Any) -> None:
    contract = make_contract(rep, customer)
    client.force_login(rep)
    response = client.post(
        f"/contracts/{contract.pk}/transition/", {"status": "completed", "version": contract.version}, follow=True
    )
    assert "cannot move from Draft to Completed" in response.content.decode()
    client.post(f"/contracts/{contract.pk}/transition/", {"status": "active", "version": contract.version})
    assert Contract.objects.get(pk=contract.pk).status == "active"


def test_split_from_the_page(client: Any, rep: Any, customer: Any, make_contract: Any) -> None:
    contract = make_contract(rep, customer, amount=D("1000.00"))
    client.force_login(rep)
    client.post(
        f"/contracts/{contract.pk}/plan/split/",
        {"count": "3", "first_due": "2026-01-15", "every_months": "1", "version": contract.version},
    )
    assert [i.amount for i in contract.plan.all()] == [D("333.34"), D("333.33"), D("333.33")]


def test_customer_page_has_contract_order_and_payment_tabs(
    client: Any, rep: Any, customer: Any, make_contract: Any
) -> None:
    make_contract(rep, customer)
    client.force_login(rep)
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    for tab in ("tab-contracts", "tab-orders", "tab-payments"):
        assert tab in page
    assert 'data-testid="panel-receivables"' in page


def test_trashing_the_customer_trashes_its_contracts(rep: Any, customer: Any, make_contract: Any, manager: Any) -> None:
    from kehu.customers.records import CUSTOMER

    contract = make_contract(rep, customer)
    record_services.record_delete(CUSTOMER, ctx=ctx_of(rep), obj=customer)
    assert Contract.all_objects.get(pk=contract.pk).is_deleted
    customer = type(customer).all_objects.get(pk=customer.pk)
    record_services.record_restore(CUSTOMER, ctx=ctx_of(rep), obj=customer)
    assert not Contract.all_objects.get(pk=contract.pk).is_deleted


def test_amounts_are_decimal(rep: Any, customer: Any, make_contract: Any) -> None:
    contract = make_contract(rep, customer)
    assert isinstance(Contract.objects.get(pk=contract.pk).amount, Decimal)
