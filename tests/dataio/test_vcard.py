"""Contacts as vCards: export of one contact and of the filtered contact list, import of vCard
2.1/3.0/4.0 files (UTF-8 or GB18030, quoted-printable names) into contacts through the
contact service, with duplicates skipped, bad cards rejected and unreadable files refused."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from kehu.customers.models import Contact
from kehu.dataio.exports import services, vcard
from kehu.platform.context import Context, Source
from kehu.platform.models import AuditEntry

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(client: Client, data: bytes, customer: Any = None) -> Any:
    payload: dict[str, Any] = {"file": SimpleUploadedFile("cards.vcf", data, content_type="text/vcard")}
    if customer is not None:
        payload["customer"] = customer.pk
    return client.post("/contacts/import-vcard/", payload)


def ctx(user: Any) -> Context:
    return Context(user=user, source=Source.WEB)


def test_contact_round_trips_through_vcard_into_another_customer(
    rep: Any, make_customer: Any, make_contact: Any
) -> None:
    source = make_customer(rep, name="上海贸易有限公司")
    target = make_customer(rep, name="北京科技有限公司")
    original = make_contact(
        rep,
        source,
        name="欧阳明月",
        title="采购经理",
        department="采购部",
        mobile="138 1234 5678",
        phone="021-6123 4567",
        email="Mingyue@Example.cn",
        wechat="mingyue_wx",
        birthday=datetime.date(1988, 3, 9),
        notes="第一行\n第二行",
    )
    client = logged_in(rep)
    response = client.get(f"/contacts/{original.pk}/vcard.vcf")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/vcard; charset=utf-8"
    text = response.content.decode("utf-8")
    assert "VERSION:3.0" in text
    assert "FN:欧阳明月" in text
    assert "N:欧阳;明月" in text
    assert "ORG:上海贸易有限公司;采购部" in text
    assert "X-WECHAT:mingyue_wx" in text
    assert "BDAY:1988-03-09" in text
    result = upload(client, response.content, customer=target)
    assert result.status_code == 200
    copy = Contact.objects.get(customer=target)
    for field in ("name", "title", "department", "mobile", "phone", "email", "wechat", "birthday", "notes"):
        assert getattr(copy, field) == getattr(original, field), field
    assert AuditEntry.objects.filter(action="export", extra__format="vcf").count() == 1


def test_contact_list_exports_as_vcards_with_filters_and_visibility(
    rep: Any, other_rep: Any, make_customer: Any, make_contact: Any
) -> None:
    ours = make_customer(rep, name="Ours Ltd")
    make_contact(rep, ours, name="张三", department="Sales")
    make_contact(rep, ours, name="李四", department="Finance")
    make_contact(other_rep, make_customer(other_rep, name="Theirs Ltd"), name="王五", department="Sales")
    response = logged_in(rep).get("/contacts/export.vcf?department=Sales")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.count("BEGIN:VCARD") == 1
    assert "FN:张三" in text
    assert "李四" not in text
    assert "王五" not in text
    assert AuditEntry.objects.get(action="export").extra["count"] == 1


def test_other_teams_contact_vcard_is_404(rep: Any, other_rep: Any, make_customer: Any, make_contact: Any) -> None:
    theirs = make_contact(other_rep, make_customer(other_rep, name="Theirs"), name="Hidden")
    assert logged_in(rep).get(f"/contacts/{theirs.pk}/vcard.vcf").status_code == 404
    assert logged_in(rep).get("/contacts/999999/vcard.vcf").status_code == 404


def test_contact_page_offers_the_vcard(rep: Any, make_customer: Any, make_contact: Any) -> None:
    contact = make_contact(rep, make_customer(rep, name="Acme"), name="Li Lei")
    page = logged_in(rep).get(f"/contacts/{contact.pk}/").content.decode()
    assert f"/contacts/{contact.pk}/vcard.vcf" in page
    assert "vcard.vcf" not in logged_in(rep).get(f"/customers/{contact.customer_id}/").content.decode()


OLD_PHONE = (
    "BEGIN:VCARD\r\n"
    "VERSION:2.1\r\n"
    "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E5=BC=A0;=E5=B0=8F=E5=87=A4=E5=87=B0=E5=87=A4=E5=87=B0=E5=87=A4=\r\n"
    "=E5=87=B0;;;\r\n"
    "TEL;CELL;VOICE:13812345678\r\n"
    "TEL;WORK:010-12345678\r\n"
    "EMAIL;INTERNET:zhang@example.cn\r\n"
    "ORG;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E5=8C=97=E4=BA=AC=E7=A7=91=E6=8A=80\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "FN:Anna Schmidt\r\n"
    "N:Schmidt;Anna;;;\r\n"
    "ORG:北京科技\r\n"
    "TEL;TYPE=cell;VALUE=uri:tel:+49-151-23456789\r\n"
    "IMPP;X-SERVICE-TYPE=WeChat:x-apple:anna_wx\r\n"
    "BDAY:19900102\r\n"
    "END:VCARD\r\n"
)


def test_old_phone_and_vcard4_cards_match_the_customer_by_company_name(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="北京科技")
    report = services.vcard_import(ctx(rep), OLD_PHONE.encode("utf-8"))
    assert [item.outcome for item in report.outcomes] == ["created", "created"], report.outcomes
    zhang = Contact.objects.get(customer=customer, name="张小凤凰凤凰凤凰")
    assert (zhang.mobile, zhang.phone, zhang.email) == ("+8613812345678", "+861012345678", "zhang@example.cn")
    anna = Contact.objects.get(customer=customer, name="Anna Schmidt")
    assert anna.mobile == "+4915123456789"
    assert anna.wechat == "anna_wx"
    assert anna.birthday == datetime.date(1990, 1, 2)


def test_gb18030_file_is_read(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="广州贸易")
    data = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:陈静\r\nORG:广州贸易\r\nTEL;TYPE=CELL:13912345678\r\nEND:VCARD\r\n"
    report = services.vcard_import(ctx(rep), data.encode("gb18030"))
    assert len(report.created) == 1
    assert Contact.objects.get(customer=customer).name == "陈静"


def test_duplicate_cards_are_skipped_by_email_or_mobile(rep: Any, make_customer: Any, make_contact: Any) -> None:
    customer = make_customer(rep, name="Acme")
    make_contact(rep, customer, name="Existing", mobile="13812345678")
    data = (
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Same Mobile\r\nTEL;TYPE=CELL:+86 138-1234-5678\r\nEND:VCARD\r\n"
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:New One\r\nEMAIL:new@example.com\r\nEND:VCARD\r\n"
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:New One Again\r\nEMAIL:NEW@example.com\r\nEND:VCARD\r\n"
    )
    response = upload(logged_in(rep), data, customer=customer)
    report = response.context["report"]
    assert [(item.name, item.outcome) for item in report.outcomes] == [
        ("Same Mobile", "skipped"),
        ("New One", "created"),
        ("New One Again", "skipped"),  # the same file's earlier card counts too
    ]
    assert "mobile" in report.outcomes[0].reason
    assert sorted(Contact.objects.filter(customer=customer).values_list("name", flat=True)) == ["Existing", "New One"]
    assert 'data-testid="vcard-outcome-skipped"' in response.content.decode()


def test_bad_cards_are_rejected_with_reasons_and_good_ones_created(
    rep: Any, other_rep: Any, make_customer: Any
) -> None:
    make_customer(rep, name="Acme")
    make_customer(other_rep, name="Hidden Co")
    data = (
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Good\r\nORG:Acme\r\nEND:VCARD\r\n"
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bad Email\r\nORG:Acme\r\nEMAIL:not-an-email\r\nEND:VCARD\r\n"
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Hidden\r\nORG:Hidden Co\r\nEND:VCARD\r\n"
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:No Company\r\nEND:VCARD\r\n"
    )
    report = services.vcard_import(ctx(rep), data)
    outcomes = {item.name: item for item in report.outcomes}
    assert outcomes["Good"].outcome == "created"
    assert outcomes["Bad Email"].outcome == "rejected"
    assert "mail" in outcomes["Bad Email"].reason.lower()
    assert outcomes["Hidden"].outcome == "rejected"
    assert "Hidden Co" in outcomes["Hidden"].reason
    assert outcomes["No Company"].outcome == "rejected"
    assert list(Contact.objects.values_list("name", flat=True)) == ["Good"]


@pytest.mark.parametrize(
    "data",
    [
        b"name,phone\nZhang,138\n",
        b"\xff\xd8\xff\xe0 not text at all \x00\x81",
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Broken\r\nthis line has no colon\r\nEND:VCARD\r\n",
    ],
)
def test_unreadable_file_is_refused_clearly_and_nothing_is_written(rep: Any, make_customer: Any, data: bytes) -> None:
    customer = make_customer(rep, name="Acme")
    with pytest.raises(vcard.VCardError):
        services.vcard_import(ctx(rep), data, customer=customer)
    response = upload(logged_in(rep), data, customer=customer)
    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert 'data-testid="field-error"' in response.content.decode()
    assert not Contact.objects.exists()


def test_read_only_user_cannot_import_vcards(reader: Any) -> None:
    client = logged_in(reader)
    assert client.get("/contacts/import-vcard/").status_code == 403
    assert client.post("/contacts/import-vcard/", {}).status_code == 403


def test_import_form_offers_only_visible_customers(rep: Any, other_rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Visible Co")
    hidden = make_customer(other_rep, name="Hidden Co")
    client = logged_in(rep)
    form = client.get("/contacts/import-vcard/").context["form"]
    assert [c.name for c in form.fields["customer"].queryset] == ["Visible Co"]
    data = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Sneaky\r\nEND:VCARD\r\n"
    response = upload(client, data, customer=hidden)
    assert response.context["form"].errors["customer"]
    assert not Contact.objects.exists()


def test_long_contact_list_exports_vcards_in_the_background(
    rep: Any, make_customer: Any, make_contact: Any, settings: Any
) -> None:
    from kehu.dataio.exports.models import ExportJob

    settings.KEHU_EXPORT_SYNC_ROWS = 1
    customer = make_customer(rep, name="Acme")
    make_contact(rep, customer, name="张三", mobile="13812345678")
    make_contact(rep, customer, name="李四", email="li@example.com")
    client = logged_in(rep)
    assert client.get("/contacts/export.vcf").status_code == 302
    job = ExportJob.objects.get()
    assert (job.format, job.row_count) == ("vcf", 2)
    download = client.get(f"/exports/{job.pk}/download/")
    cards = vcard.parse_vcards(b"".join(download.streaming_content))
    assert sorted(card.name for card in cards) == ["张三", "李四"]
