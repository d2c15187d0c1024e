"""Custom fields in the web interface: the settings page (admins only, with the definition's
own validation), record forms with inline errors, the detail page, list columns and filters,
the CSV export and the history tab."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from kehu.customers.models import Customer
from kehu.platform.models import AuditEntry, CustomField

pytestmark = pytest.mark.django_db

TIERS = [{"value": "vip", "label": "VIP"}, {"value": "std", "label": "Standard"}]


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- the settings page -------------------------------------------------------------------


def test_settings_page_is_for_admins_only(admin_user: Any, rep: Any, make_user: Any, define: Any) -> None:
    tier = define("tier", "text")
    manager = make_user("chief", "manager")

    assert logged_in(admin_user).get("/settings/custom-fields/").status_code == 200
    for user in (rep, manager):
        client = logged_in(user)
        assert client.get("/settings/custom-fields/").status_code == 403
        assert client.get("/settings/custom-fields/new/").status_code == 403
        assert client.post(f"/settings/custom-fields/{tier.pk}/active/", {"active": "0"}).status_code == 403
    assert CustomField.objects.get(pk=tier.pk).active
    assert Client().get("/settings/custom-fields/")["Location"].startswith("/accounts/login/")


def test_settings_link_is_in_the_user_menu_of_admins_only(admin_user: Any, rep: Any) -> None:
    assert "/settings/custom-fields/" in logged_in(admin_user).get("/").content.decode()
    assert "/settings/custom-fields/" not in logged_in(rep).get("/").content.decode()


def test_admin_adds_a_choice_field_from_the_settings_page(admin_user: Any) -> None:
    response = logged_in(admin_user).post(
        "/settings/custom-fields/new/",
        {
            "record_type": "customer",
            "label": "Tier",
            "name": "tier",
            "kind": "choice",
            "choices": "vip | VIP\nKey account\n重要客户",
            "default": "vip",
            "section": "Sales",
            "help_text": "How much they buy.",
        },
    )

    assert response.status_code == 302
    tier = CustomField.objects.get(name="tier")
    assert tier.choices == [
        {"value": "vip", "label": "VIP"},
        {"value": "key-account", "label": "Key account"},
        {"value": "choice-3", "label": "重要客户"},
    ]
    assert (tier.default, tier.section, tier.order, tier.active) == ("vip", "Sales", 10, True)
    assert AuditEntry.objects.filter(action="create", content_type__model="customfield").exists()
    listing = logged_in(admin_user).get("/settings/custom-fields/").content.decode()
    assert "Tier" in listing
    assert "Key account" in listing


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "Tier Level", "kind": "text"}, "name", "lower-case letters"),
        ({"name": "name", "kind": "text"}, "name", "has a field with this name"),
        ({"name": "tier", "kind": "choice", "choices": ""}, "choices", "List at least one choice."),
        ({"name": "tier", "kind": "choice", "choices": "a | A\na | B"}, "choices", "listed twice"),
        ({"name": "partner", "kind": "link"}, "target", "Choose the record type this field links to."),
        ({"name": "seats", "kind": "integer", "default": "lots"}, "default", "Enter a whole number."),
    ],
)
def test_settings_form_shows_definition_errors_inline(
    admin_user: Any, data: dict[str, str], field: str, message: str
) -> None:
    response = logged_in(admin_user).post(
        "/settings/custom-fields/new/", {"record_type": "customer", "label": "Label", **data}
    )

    assert response.status_code == 422
    assert message in " ".join(response.context["form"].errors[field])
    assert 'class="invalid-feedback"' in response.content.decode()
    assert not CustomField.objects.exists()


def test_changing_the_type_of_a_field_in_use_is_refused_on_the_page(
    admin_user: Any, rep: Any, make_customer: Any, define: Any
) -> None:
    seats = define("seats", "text")
    make_customer(rep, custom={"seats": "12"})

    response = logged_in(admin_user).post(
        f"/settings/custom-fields/{seats.pk}/",
        {"label": "Seats", "kind": "integer", "order": "10"},
    )

    assert response.status_code == 422
    assert "1 record has a value in this field" in " ".join(response.context["form"].errors["kind"])
    assert CustomField.objects.get(pk=seats.pk).kind == "text"


def test_edit_page_keeps_key_and_record_type_and_saves_the_rest(admin_user: Any, define: Any) -> None:
    tier = define("tier", "choice", choices=TIERS, default="std")
    client = logged_in(admin_user)

    page = client.get(f"/settings/custom-fields/{tier.pk}/")
    response = client.post(
        f"/settings/custom-fields/{tier.pk}/",
        {
            "record_type": "contact",
            "name": "level",
            "label": "Level",
            "kind": "choice",
            "choices": "vip | VIP\nstd | Standard\ngold | Gold",
            "default": "gold",
            "required": "on",
            "order": "5",
        },
    )

    assert page.context["form"].initial["choices"] == "vip | VIP\nstd | Standard"
    assert page.context["form"].initial["default"] == "std"
    assert response.status_code == 302
    tier.refresh_from_db()
    assert (tier.record_type, tier.name, tier.label, tier.default, tier.required) == (
        "customer",
        "tier",
        "Level",
        "gold",
        True,
    )


def test_deactivate_keeps_values_and_hides_the_field_until_reactivated(
    admin_user: Any, rep: Any, make_customer: Any, define: Any
) -> None:
    motto = define("motto", "text")
    customer = make_customer(rep, custom={"motto": "Go far"})
    admin = logged_in(admin_user)

    admin.post(f"/settings/custom-fields/{motto.pk}/active/", {"active": "0"})
    hidden = logged_in(rep).get(f"/customers/{customer.pk}/").content.decode()
    admin.post(f"/settings/custom-fields/{motto.pk}/active/", {"active": "1"})
    shown = logged_in(rep).get(f"/customers/{customer.pk}/").content.decode()

    assert "Go far" not in hidden
    assert "Go far" in shown
    assert Customer.objects.get(pk=customer.pk).custom == {"motto": "Go far"}


def test_move_buttons_reorder_fields(admin_user: Any, define: Any) -> None:
    first = define("first", "text")
    second = define("second", "text")

    logged_in(admin_user).post(f"/settings/custom-fields/{second.pk}/move/", {"direction": "up"})

    assert list(CustomField.objects.order_by("order").values_list("pk", flat=True)) == [second.pk, first.pk]


# --- record forms ------------------------------------------------------------------------


def test_form_shows_custom_fields_by_section_with_label_help_and_required_marker(rep: Any, define: Any) -> None:
    define("motto", "text", help_text="Their slogan.")
    define("tier", "choice", choices=TIERS, required=True, section="Sales", default="std")
    define("renewal", "date", section="Contract")
    define("met_at", "datetime", section="Contract")
    define("budget", "money", section="Contract")

    html = logged_in(rep).get("/customers/new/").content.decode()

    assert html.index('name="name"') < html.index('name="custom.motto"')  # after the model fields
    assert html.index(">Sales</legend>") < html.index('name="custom.tier"') < html.index(">Contract</legend>")
    assert "Their slogan." in html
    assert re.search(r'<select name="custom.tier"[^>]*required', html)
    assert re.search(r'<option value="std" selected>Standard</option>', html)
    assert 'type="date" name="custom.renewal"' in html
    assert 'type="datetime-local" name="custom.met_at"' in html
    assert 'name="custom.budget_0"' in html
    assert '<option value="CNY" selected>CNY</option>' in html


def test_bad_custom_value_in_the_form_is_shown_inline_and_nothing_is_written(rep: Any, define: Any) -> None:
    define("seats", "integer")
    define("website2", "url")

    response = logged_in(rep).post(
        "/customers/new/",
        {"kind": "company", "name": "Acme", "custom.seats": "a dozen", "custom.website2": "javascript:alert(1)"},
    )

    assert response.status_code == 422
    errors = response.context["form"].errors
    assert errors["custom.seats"] == ["Enter a whole number."]
    assert errors["custom.website2"] == ["Enter a valid URL starting with http:// or https://."]
    assert 'id="error_1_id_custom.seats"' in response.content.decode()
    assert not Customer.objects.exists()


def test_form_stores_custom_values_through_the_service(rep: Any, admin_user: Any, define: Any) -> None:
    define("tier", "choice", choices=TIERS)
    define("lines", "multi_choice", choices=TIERS)
    define("met_at", "datetime")
    define("budget", "money")
    define("vip_line", "boolean")
    define("account_manager", "user")

    response = logged_in(rep).post(
        "/customers/new/",
        {
            "kind": "company",
            "name": "Acme",
            "custom.tier": "vip",
            "custom.lines": ["std", "vip"],
            "custom.met_at": "2026-03-01T09:30",
            "custom.budget_0": "1200.5",
            "custom.budget_1": "USD",
            "custom.vip_line": "on",
            "custom.account_manager": str(admin_user.pk),
        },
    )

    assert response.status_code == 302, response.context["form"].errors
    customer = Customer.objects.get(name="Acme")
    assert customer.custom == {
        "tier": "vip",
        "lines": ["vip", "std"],
        "met_at": "2026-03-01T01:30:00Z",  # 09:30 in Shanghai
        "budget": {"amount": "1200.50", "currency": "USD"},
        "vip_line": True,
        "account_manager": admin_user.pk,
    }
    entry = AuditEntry.objects.get(action="create", object_id=customer.pk, content_type__model="customer")
    assert entry.changes["custom.tier"] == [None, "vip"]


def test_edit_form_starts_from_the_stored_values_and_saves_changes(rep: Any, make_customer: Any, define: Any) -> None:
    define("met_at", "datetime")
    define("motto", "text")
    customer = make_customer(rep, custom={"met_at": "2026-03-01T01:30:00Z", "motto": "Old"})
    client = logged_in(rep)

    html = client.get(f"/customers/{customer.pk}/edit/").content.decode()
    response = client.post(
        f"/customers/{customer.pk}/edit/",
        {"kind": "company", "name": "Acme", "version": "1", "custom.met_at": "2026-03-01T09:30", "custom.motto": ""},
    )

    assert 'value="2026-03-01T09:30"' in html
    assert 'value="Old"' in html
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.custom == {"met_at": "2026-03-01T01:30:00Z"}
    assert customer.version == 2


def test_required_custom_field_left_empty_is_refused_on_edit(rep: Any, make_customer: Any, define: Any) -> None:
    customer = make_customer(rep)
    define("region", "text", required=True)

    response = logged_in(rep).post(
        f"/customers/{customer.pk}/edit/", {"kind": "company", "name": "Acme", "version": "1", "custom.region": ""}
    )

    assert response.status_code == 422
    assert response.context["form"].errors["custom.region"] == ["This field is required."]


def test_link_field_offers_only_visible_records(rep: Any, other_rep: Any, make_customer: Any, define: Any) -> None:
    define("partner", "link", target="customer")
    make_customer(rep, name="Visible Co")
    make_customer(other_rep, name="Hidden Co")

    html = logged_in(rep).get("/customers/new/").content.decode()

    assert "Visible Co" in html
    assert "Hidden Co" not in html


# --- detail, list, export, history --------------------------------------------------------


def test_detail_shows_custom_values_by_section_with_labels_and_formats(
    rep: Any, admin_user: Any, make_customer: Any, define: Any
) -> None:
    define("tier", "choice", choices=TIERS, section="Sales")
    define("budget", "money", section="Sales")
    define("renewal", "date")
    define("account_manager", "user")
    define("partner", "link", target="customer")
    define("homepage", "url")
    partner = make_customer(rep, name="Partner Co")
    customer = make_customer(
        rep,
        custom={
            "tier": "vip",
            "budget": "1234.5",
            "renewal": "2026-06-30",
            "account_manager": admin_user.pk,
            "partner": partner.pk,
            "homepage": "https://acme.example",
        },
    )

    html = logged_in(rep).get(f"/customers/{customer.pk}/").content.decode()
    text = text_of(html)

    assert ">Sales</h4>" in html
    assert "Tier VIP" in text
    assert "Budget CN¥1,234.50" in text
    assert "Renewal 06/30/2026" in text
    assert f"Account Manager {admin_user}" in text
    assert f'<a href="/customers/{partner.pk}/">{partner}</a>' in html
    assert '<a href="https://acme.example" rel="noopener noreferrer" target="_blank">' in html


def test_detail_does_not_name_a_linked_record_the_viewer_cannot_see(
    rep: Any, other_rep: Any, admin_user: Any, make_customer: Any, define: Any
) -> None:
    define("partner", "link", target="customer")
    secret = make_customer(other_rep, name="Secret Partner")
    customer = make_customer(admin_user, name="Shared", custom={"partner": secret.pk})
    customer.owner = rep
    Customer.all_objects.filter(pk=customer.pk).update(owner=rep, team=rep.team)

    html = logged_in(rep).get(f"/customers/{customer.pk}/").content.decode()

    assert "Secret Partner" not in html
    assert "Hidden or deleted record" in html


def test_list_offers_custom_columns_and_filters(rep: Any, make_customer: Any, define: Any) -> None:
    define("tier", "choice", choices=TIERS)
    define("seats", "integer")
    make_customer(rep, name="Big", custom={"tier": "vip", "seats": 500})
    make_customer(rep, name="Small", custom={"tier": "std", "seats": 5})
    client = logged_in(rep)

    page = client.get("/customers/")
    panel = client.get("/customers/filters/")  # the filter fields, fetched when the panel opens
    filtered = client.get("/customers/?cols=name&cols=custom.tier&cf_tier=vip")
    ranged = client.get("/customers/?cols=name&cols=custom.seats&cf_seats_max=10")

    assert "custom.tier" in page.context["all_columns"]
    assert 'name="cf_tier"' in panel.content.decode()
    assert 'name="cf_seats_min"' in panel.content.decode()
    assert filtered.context["columns"] == ["name", "custom.tier"]
    assert [row.name for row in filtered.context["rows"]] == ["Big"]
    assert re.search(r"<th>\s*Tier\s*</th>", filtered.content.decode())
    assert "VIP" in text_of(filtered.content.decode())
    assert [row.name for row in ranged.context["rows"]] == ["Small"]


def test_bad_custom_filter_value_shows_an_error_not_a_crash(rep: Any, make_customer: Any, define: Any) -> None:
    define("seats", "integer")
    make_customer(rep, name="Big", custom={"seats": 500})

    response = logged_in(rep).get("/customers/?cf_seats_min=many")

    assert response.status_code == 200
    assert list(response.context["rows"]) == []
    assert "Enter a whole number." in response.content.decode()


def test_csv_export_includes_custom_columns_formatted_like_the_list(
    rep: Any, admin_user: Any, make_customer: Any, define: Any
) -> None:
    define("tier", "choice", choices=TIERS)
    define("budget", "money")
    define("account_manager", "user")
    make_customer(rep, name="Big", custom={"tier": "vip", "budget": "10", "account_manager": admin_user.pk})

    response = logged_in(rep).get(
        "/customers/export.csv?cols=name&cols=custom.tier&cols=custom.budget&cols=custom.account_manager"
    )
    body = b"".join(response.streaming_content).decode("utf-8")

    lines = body.lstrip("\ufeff").splitlines()
    assert lines[0] == "name,Tier,Budget,Account Manager"
    assert lines[1] == f"Big,VIP,CN¥10.00,{admin_user}"


def test_list_with_user_and_link_columns_does_not_query_per_row(
    rep: Any, admin_user: Any, make_customer: Any, define: Any, django_assert_max_num_queries: Any
) -> None:
    define("account_manager", "user")
    define("partner", "link", target="customer")
    hub = make_customer(rep, name="Hub")
    for i in range(3):
        make_customer(rep, name=f"C{i}", custom={"account_manager": admin_user.pk, "partner": hub.pk})
    client = logged_in(rep)
    url = "/customers/?cols=name&cols=custom.account_manager&cols=custom.partner"
    client.get(url)
    with django_assert_max_num_queries(30) as few:
        client.get(url)
    for i in range(30):
        make_customer(rep, name=f"D{i}", custom={"account_manager": admin_user.pk, "partner": hub.pk})
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert str(admin_user) in response.content.decode()


def test_history_tab_shows_custom_changes_by_label(rep: Any, make_customer: Any, define: Any) -> None:
    define("tier", "choice", choices=TIERS, label="Customer tier")
    customer = make_customer(rep, custom={"tier": "std"})
    client = logged_in(rep)
    client.post(
        f"/customers/{customer.pk}/edit/", {"kind": "company", "name": "Acme", "version": "1", "custom.tier": "vip"}
    )

    text = text_of(client.get(f"/customers/{customer.pk}/history/").content.decode())

    assert "Customer tier Standard VIP" in text


def test_editing_a_record_keeps_a_link_the_editor_cannot_see_and_a_deactivated_user(
    rep: Any, other_rep: Any, make_user: Any, make_customer: Any, define: Any
) -> None:
    define("partner", "link", target="customer")
    define("account_manager", "user")
    secret = make_customer(other_rep, name="Secret Partner")
    gone = make_user("gone", "sales")
    customer = make_customer(rep, name="Acme", custom={"account_manager": gone.pk})
    Customer.all_objects.filter(pk=customer.pk).update(custom={"partner": secret.pk, "account_manager": gone.pk})
    gone.is_active = False
    gone.save()
    client = logged_in(rep)

    form = client.get(f"/customers/{customer.pk}/edit/").context["form"]
    html = form["custom.partner"].as_widget()
    response = client.post(
        f"/customers/{customer.pk}/edit/",
        {
            "kind": "company",
            "name": "Acme Renamed",
            "version": "1",
            "custom.partner": str(secret.pk),
            "custom.account_manager": str(gone.pk),
        },
    )

    assert "Secret Partner" not in html
    assert f'<option value="{secret.pk}" selected>Hidden or deleted record</option>' in html
    assert response.status_code == 302, response.context["form"].errors
    customer.refresh_from_db()
    assert customer.name == "Acme Renamed"
    assert customer.custom == {"partner": secret.pk, "account_manager": gone.pk}
