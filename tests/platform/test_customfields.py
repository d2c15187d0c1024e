"""Custom fields at the service level: one validation per kind for every path, required and
default values, unknown and inactive keys, links only to visible records, the audit diff,
filters and search, and the definitions themselves (validated, audited, never deleted)."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from kehu.customers.models import Customer
from kehu.customers.records import CONTACT, CUSTOMER
from kehu.platform import customfields, selectors, services
from kehu.platform.context import Context, Source
from kehu.platform.customfields import services as definitions
from kehu.platform.customfields.values import clean_value
from kehu.platform.models import AuditAction, AuditEntry, CustomField
from kehu.platform.views import history_rows

pytestmark = pytest.mark.django_db


def ctx(user: Any) -> Context:
    return Context(user=user, source=Source.WEB)


@pytest.fixture
def define(admin_user: Any) -> Any:
    """``define(name, kind, **options)``: a custom field made through the definitions service."""

    def make(name: str, kind: str, record_type: str = "customer", **options: Any) -> CustomField:
        options.setdefault("label", name.replace("_", " ").title())
        return definitions.customfield_create(
            ctx=ctx(admin_user), data={"record_type": record_type, "name": name, "kind": kind, **options}
        )

    return make


TIERS = [
    {"value": "vip", "label": "VIP"},
    {"value": "key", "label": "Key account"},
    {"value": "std", "label": "Standard"},
]


def field(kind: str, **options: Any) -> CustomField:
    """An unsaved definition, for checking values alone."""
    return CustomField(record_type="customer", name="x", label="X", kind=kind, **options)


# --- one cleaner per kind ----------------------------------------------------------------

VALID = [
    ("text", "  Acme East  ", "Acme East"),
    ("text", 42, "42"),
    ("long_text", "line one\r\nline two", "line one\nline two"),
    ("integer", 7, 7),
    ("integer", "1,200", 1200),
    ("integer", " -3 ", -3),
    ("integer", 5.0, 5),
    ("decimal", "12.50", "12.5"),
    ("decimal", 3, "3"),
    ("decimal", decimal.Decimal("1E+2"), "100"),
    ("decimal", "-0.000", "0"),
    ("money", {"amount": "12.5", "currency": "usd"}, {"amount": "12.50", "currency": "USD"}),
    ("money", "99", {"amount": "99.00", "currency": "CNY"}),
    ("money", "1500 JPY", {"amount": "1500", "currency": "JPY"}),
    ("money", {"amount": 3}, {"amount": "3.00", "currency": "CNY"}),
    ("date", "2026-03-01", "2026-03-01"),
    ("date", datetime.date(2026, 3, 1), "2026-03-01"),
    ("datetime", "2026-03-01T09:30:00+08:00", "2026-03-01T01:30:00Z"),
    ("datetime", "2026-03-01T01:30:00.123Z", "2026-03-01T01:30:00Z"),
    ("boolean", "yes", True),
    ("boolean", 0, False),
    ("boolean", False, False),
    ("choice", "vip", "vip"),
    ("choice", "Key account", "key"),
    ("multi_choice", ["std", "vip", "vip"], ["vip", "std"]),
    ("multi_choice", "vip, Standard", ["vip", "std"]),
    ("url", "example.com/a", "https://example.com/a"),
    ("email", "Wang.Wei@Example.COM", "wang.wei@example.com"),
    ("phone", "138 1234 5678", "+8613812345678"),
]


@pytest.mark.parametrize(("kind", "value", "stored"), VALID)
def test_each_kind_coerces_valid_values_to_stable_json(kind: str, value: Any, stored: Any) -> None:
    definition = field(kind, choices=TIERS if "choice" in kind else [])

    assert clean_value(definition, value) == stored
    assert clean_value(definition, stored) == stored  # its own output goes round unchanged


INVALID = [
    ("text", "x" * 256, "at most 255 characters"),
    ("text", "a\x00b", "Null characters"),
    ("text", ["a"], "Enter text"),
    ("long_text", "x" * 10_001, "at most 10000 characters"),
    ("integer", "12.5", "whole number"),
    ("integer", True, "whole number"),
    ("integer", 2**60, "between"),
    ("decimal", "abc", "Enter a number"),
    ("decimal", "1.12345678901", "10 decimal places"),
    ("decimal", "NaN", "Enter a number"),
    ("money", "12.345", "2 decimal places for CNY"),
    ("money", {"amount": "1", "currency": "XYZ"}, "ISO 4217"),
    ("money", {"amount": "1", "rate": 2}, "amount"),
    ("date", "01/03/2026", "YYYY-MM-DD"),
    ("date", "2026-02-30", "YYYY-MM-DD"),
    ("datetime", "2026-03-01T09:30:00", "time zone"),
    ("datetime", "tomorrow", "time zone"),
    ("boolean", "maybe", "true or false"),
    ("choice", "gold", "gold is not one of the choices (vip, key, std)"),
    ("multi_choice", ["vip", "gold"], "gold is not one of the choices"),
    ("multi_choice", 5, "list of values"),
    ("url", "javascript:alert(1)", "http:// or https://"),
    ("email", "not-an-email", "valid email address"),
    ("phone", "12345", "valid phone number"),
    ("user", "nobody", "valid user"),
    ("user", 999_999, "valid user"),
]


@pytest.mark.parametrize(("kind", "value", "message"), INVALID)
def test_each_kind_refuses_invalid_values_with_a_clear_message(kind: str, value: Any, message: str) -> None:
    definition = field(kind, choices=TIERS if "choice" in kind else [])

    with pytest.raises(ValidationError) as caught:
        clean_value(definition, value)

    assert message in " ".join(caught.value.messages)


@pytest.mark.parametrize("empty", [None, "", "   ", [], {"amount": "", "currency": "USD"}])
def test_empty_values_clean_to_none(empty: Any) -> None:
    for kind in CustomField.Kind.values:
        assert clean_value(field(kind, choices=TIERS), empty) is None


def test_user_field_takes_the_id_of_an_active_user_only(rep: Any, make_user: Any) -> None:
    gone = make_user("gone", "sales")
    gone.is_active = False
    gone.save()

    assert clean_value(field("user"), str(rep.pk)) == rep.pk
    with pytest.raises(ValidationError, match="valid user"):
        clean_value(field("user"), gone.pk)


def test_link_accepts_only_records_the_acting_user_can_see(rep: Any, other_rep: Any, make_customer: Any) -> None:
    mine = make_customer(rep, name="Mine")
    theirs = make_customer(other_rep, name="Theirs")
    link = field("link", target="customer")

    assert clean_value(link, mine.pk, user=rep) == mine.pk
    with pytest.raises(ValidationError) as hidden:
        clean_value(link, theirs.pk, user=rep)
    with pytest.raises(ValidationError) as missing:
        clean_value(link, 987_654, user=rep)
    assert hidden.value.messages == missing.value.messages == ["Select a valid customer."]


# --- through the services ---------------------------------------------------------------


def test_create_stores_every_kind_and_the_audit_entry_lists_them(
    define: Any, rep: Any, make_customer: Any, admin_user: Any
) -> None:
    partner = make_customer(rep, name="Partner")
    define("tier", "choice", choices=TIERS)
    define("budget", "money")
    define("since", "date")
    define("account_manager", "user")
    define("partner", "link", target="customer")

    obj = services.record_create(
        CUSTOMER,
        ctx=ctx(rep),
        data={
            "name": "Acme",
            "custom": {
                "tier": "VIP",
                "budget": "2000",
                "since": "2026-01-05",
                "account_manager": admin_user.pk,
                "partner": partner.pk,
            },
        },
    )

    obj.refresh_from_db()
    assert obj.custom == {
        "tier": "vip",
        "budget": {"amount": "2000.00", "currency": "CNY"},
        "since": "2026-01-05",
        "account_manager": admin_user.pk,
        "partner": partner.pk,
    }
    entry = AuditEntry.objects.get(action=AuditAction.CREATE, object_id=obj.pk, content_type__model="customer")
    assert entry.changes["custom.tier"] == [None, "vip"]
    assert entry.changes["custom.budget"] == [None, {"amount": "2000.00", "currency": "CNY"}]


def test_required_field_without_a_value_is_refused_naming_the_custom_key(define: Any, rep: Any) -> None:
    define("tier", "choice", choices=TIERS, required=True)

    with pytest.raises(ValidationError) as caught:
        services.record_create(CUSTOMER, ctx=ctx(rep), data={"name": "Acme"})
    with pytest.raises(ValidationError) as blank:
        services.record_create(CUSTOMER, ctx=ctx(rep), data={"name": "Acme", "custom": {"tier": ""}})

    assert caught.value.message_dict == {"custom.tier": ["This field is required."]}
    assert blank.value.message_dict == {"custom.tier": ["This field is required."]}
    assert not Customer.objects.exists()


def test_default_is_applied_on_create_only_when_the_key_is_absent(define: Any, rep: Any) -> None:
    define("tier", "choice", choices=TIERS, default="std")
    define("vip_line", "boolean", default="true")

    defaulted = services.record_create(CUSTOMER, ctx=ctx(rep), data={"name": "A"})
    chosen = services.record_create(CUSTOMER, ctx=ctx(rep), data={"name": "B", "custom": {"tier": "key"}})
    cleared = services.record_create(CUSTOMER, ctx=ctx(rep), data={"name": "C", "custom": {"tier": None}})

    assert defaulted.custom == {"tier": "std", "vip_line": True}
    assert chosen.custom == {"tier": "key", "vip_line": True}
    assert cleared.custom == {"vip_line": True}


def test_update_merges_a_partial_dict_and_null_clears_a_value(define: Any, rep: Any) -> None:
    define("tier", "choice", choices=TIERS)
    define("note", "text")
    obj = services.record_create(CUSTOMER, ctx=ctx(rep), data={"name": "A", "custom": {"tier": "vip", "note": "x"}})

    services.record_update(CUSTOMER, ctx=ctx(rep), obj=obj, data={"custom": {"note": "y"}})
    services.record_update(CUSTOMER, ctx=ctx(rep), obj=obj, data={"custom": {"tier": None}})

    obj.refresh_from_db()
    assert obj.custom == {"note": "y"}
    assert obj.version == 3
    cleared = AuditEntry.objects.filter(action=AuditAction.UPDATE, object_id=obj.pk).order_by("-id").first()
    assert cleared is not None
    assert cleared.changes == {"custom.tier": ["vip", None]}


def test_update_with_the_same_custom_values_writes_nothing(define: Any, rep: Any) -> None:
    define("tier", "choice", choices=TIERS)
    obj = services.record_create(CUSTOMER, ctx=ctx(rep), data={"name": "A", "custom": {"tier": "vip"}})

    services.record_update(CUSTOMER, ctx=ctx(rep), obj=obj, data={"custom": {"tier": "VIP"}})

    obj.refresh_from_db()
    assert obj.version == 1


def test_a_change_to_custom_values_is_written_with_the_version_check(define: Any, rep: Any) -> None:
    define("note", "text")
    obj = services.record_create(CUSTOMER, ctx=ctx(rep), data={"name": "A"})
    stale = Customer.objects.get(pk=obj.pk)
    services.record_update(CUSTOMER, ctx=ctx(rep), obj=obj, data={"custom": {"note": "first"}})

    from kehu.platform.errors import StaleVersion

    with pytest.raises(StaleVersion):
        services.record_update(CUSTOMER, ctx=ctx(rep), obj=stale, data={"custom": {"note": "second"}}, version=1)
    assert Customer.objects.get(pk=obj.pk).custom == {"note": "first"}


def test_unknown_keys_are_refused_by_name(define: Any, rep: Any) -> None:
    define("tier", "choice", choices=TIERS)

    with pytest.raises(ValidationError) as caught:
        services.record_create(CUSTOMER, ctx=ctx(rep), data={"name": "A", "custom": {"colour": "red"}})
    with pytest.raises(ValidationError) as shape:
        services.record_create(CUSTOMER, ctx=ctx(rep), data={"name": "A", "custom": ["vip"]})

    assert caught.value.message_dict == {"custom.colour": ["There is no custom field with this key."]}
    assert list(shape.value.message_dict) == ["custom"]


def test_model_and_custom_errors_are_reported_together(define: Any, rep: Any) -> None:
    define("since", "date")

    with pytest.raises(ValidationError) as caught:
        services.record_create(
            CUSTOMER, ctx=ctx(rep), data={"name": "", "email": "bad", "custom": {"since": "yesterday"}}
        )

    assert {"name", "email", "custom.since"} <= set(caught.value.message_dict)


def test_inactive_field_keeps_its_value_which_cannot_be_changed(define: Any, rep: Any, admin_user: Any) -> None:
    old = define("legacy_code", "text")
    obj = services.record_create(CUSTOMER, ctx=ctx(rep), data={"name": "A", "custom": {"legacy_code": "L-1"}})
    definitions.customfield_set_active(ctx=ctx(admin_user), field=old, active=False)

    with pytest.raises(ValidationError) as caught:
        services.record_update(CUSTOMER, ctx=ctx(rep), obj=obj, data={"custom": {"legacy_code": "L-2"}})
    services.record_update(CUSTOMER, ctx=ctx(rep), obj=obj, data={"custom": {"legacy_code": "L-1"}, "city": "杭州"})

    assert "no longer in use" in caught.value.message_dict["custom.legacy_code"][0]
    obj.refresh_from_db()
    assert obj.custom == {"legacy_code": "L-1"}
    assert obj.city == "杭州"
    assert "custom.legacy_code" not in customfields.column_keys(CUSTOMER)


def test_link_to_a_record_of_another_team_is_refused(define: Any, rep: Any, other_rep: Any, make_customer: Any) -> None:
    define("partner", "link", target="customer")
    theirs = make_customer(other_rep, name="Theirs")

    with pytest.raises(ValidationError) as caught:
        services.record_create(CUSTOMER, ctx=ctx(rep), data={"name": "A", "custom": {"partner": theirs.pk}})

    assert caught.value.message_dict == {"custom.partner": ["Select a valid customer."]}


def test_every_record_type_gets_custom_fields(define: Any, rep: Any, make_customer: Any) -> None:
    define("anniversary", "date", record_type="contact", required=True)
    customer = make_customer(rep)

    with pytest.raises(ValidationError) as caught:
        services.record_create(CONTACT, ctx=ctx(rep), data={"customer": customer, "name": "Li"})
    contact = services.record_create(
        CONTACT, ctx=ctx(rep), data={"customer": customer, "name": "Li", "custom": {"anniversary": "1990-05-04"}}
    )

    assert list(caught.value.message_dict) == ["custom.anniversary"]
    assert contact.custom == {"anniversary": "1990-05-04"}
    assert services.record_create(CUSTOMER, ctx=ctx(rep), data={"name": "No birthday needed"}).custom == {}


def test_update_event_names_the_changed_custom_field(
    define: Any, rep: Any, published: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    define("tier", "choice", choices=TIERS)
    obj = services.record_create(CUSTOMER, ctx=ctx(rep), data={"name": "A"})

    with django_capture_on_commit_callbacks(execute=True):
        services.record_update(CUSTOMER, ctx=ctx(rep), obj=obj, data={"custom": {"tier": "key"}})

    updated = [event for event in published if event.type == "record.updated"]
    assert updated[-1].data["changed"] == ["custom.tier"]


def test_history_shows_custom_changes_with_the_label_and_readable_values(
    define: Any, rep: Any, admin_user: Any
) -> None:
    define("tier", "choice", choices=TIERS, label="Tier")
    define("budget", "money", label="Budget")
    define("account_manager", "user", label="Account manager")
    obj = services.record_create(CUSTOMER, ctx=ctx(rep), data={"name": "A", "custom": {"tier": "std"}})
    services.record_update(
        CUSTOMER,
        ctx=ctx(rep),
        obj=obj,
        data={"custom": {"tier": "vip", "budget": "12.5 USD", "account_manager": admin_user.pk}},
    )

    entry = AuditEntry.objects.filter(action=AuditAction.UPDATE, object_id=obj.pk).select_related("content_type")
    changes = {label: (before, after) for label, before, after in history_rows(entry)[0]["changes"]}

    assert changes["Tier"] == ("Standard", "VIP")
    assert changes["Budget"] == ("—", "$12.50")
    assert changes["Account manager"] == ("—", str(admin_user))


def test_bulk_edit_refuses_custom_values(define: Any, rep: Any) -> None:
    define("note", "text")
    obj = services.record_create(CUSTOMER, ctx=ctx(rep), data={"name": "A"})

    with pytest.raises(ValidationError, match="cannot be changed in bulk"):
        services.record_bulk_update(CUSTOMER, ctx=ctx(rep), objs=[obj], data={"custom": {"note": "x"}})


# --- filters and search ------------------------------------------------------------------


@pytest.fixture
def catalogue(define: Any, rep: Any, admin_user: Any, make_customer: Any) -> dict[str, Any]:
    """Three customers of the rep with values in most kinds."""
    define("tier", "choice", choices=TIERS)
    define("lines", "multi_choice", choices=TIERS)
    define("motto", "text")
    define("seats", "integer")
    define("score", "decimal")
    define("signed", "date")
    define("met_at", "datetime")
    define("vip_line", "boolean")
    define("account_manager", "user")
    define("partner", "link", target="customer")
    define("mobile", "phone")
    hub = make_customer(rep, name="Hub")
    rows = {
        "a": {
            "tier": "vip",
            "lines": ["vip", "key"],
            "motto": "Always first",
            "seats": 5,
            "score": "9.5",
            "signed": "2026-01-10",
            "met_at": "2026-01-10T23:30:00+08:00",
            "vip_line": True,
            "account_manager": admin_user.pk,
            "partner": hub.pk,
            "mobile": "13812345678",
        },
        "b": {
            "tier": "std",
            "lines": ["std"],
            "motto": "Never last",
            "seats": 50,
            "score": "10",
            "signed": "2026-02-01",
            "met_at": "2026-01-11T00:30:00+08:00",
            "vip_line": False,
        },
        "c": {},
    }
    made = {key: make_customer(rep, name=f"Customer {key}", custom=values) for key, values in rows.items()}
    made["hub"] = hub
    return made


def names(queryset: Any) -> set[str]:
    return {obj.name for obj in queryset}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"cf_tier": "vip"}, {"Customer a"}),
        ({"cf_lines": "std"}, {"Customer b"}),
        ({"cf_lines": "key"}, {"Customer a"}),
        ({"cf_motto": "never"}, {"Customer b"}),
        ({"cf_seats_min": "6"}, {"Customer b"}),
        ({"cf_seats_min": "5", "cf_seats_max": "5"}, {"Customer a"}),
        ({"cf_score_max": "9.75"}, {"Customer a"}),
        ({"cf_score_min": "9.75"}, {"Customer b"}),
        ({"cf_signed_min": "2026-01-15"}, {"Customer b"}),
        ({"cf_met_at_min": "2026-01-11"}, {"Customer b"}),
        ({"cf_met_at_max": "2026-01-10"}, {"Customer a"}),
        ({"cf_vip_line": "true"}, {"Customer a"}),
        ({"cf_vip_line": "false"}, {"Customer b"}),
        ({"cf_mobile": "138 1234 5678"}, {"Customer a"}),
        ({"cf_mobile": "1234"}, set()),  # encrypted: found by the whole number only, like every phone
    ],
)
def test_list_filters_on_custom_values(catalogue: dict[str, Any], rep: Any, params: Any, expected: set[str]) -> None:
    found = selectors.record_list(CUSTOMER, user=rep, params=params)

    assert names(found) == expected


def test_filters_on_user_and_link_take_ids(catalogue: dict[str, Any], rep: Any, admin_user: Any) -> None:
    by_user = selectors.record_list(CUSTOMER, user=rep, params={"cf_account_manager": str(admin_user.pk)})
    by_link = selectors.record_list(CUSTOMER, user=rep, params={"cf_partner": str(catalogue["hub"].pk)})

    assert names(by_user) == names(by_link) == {"Customer a"}


def test_bad_filter_values_are_refused_naming_the_parameter(catalogue: dict[str, Any], rep: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        selectors.record_list(CUSTOMER, user=rep, params={"cf_seats_min": "many", "cf_tier": "gold"})

    assert set(caught.value.message_dict) == {"cf_seats_min", "cf_tier"}


def test_list_search_finds_textual_custom_values(catalogue: dict[str, Any], rep: Any) -> None:
    assert names(selectors.record_list(CUSTOMER, user=rep, q="always")) == {"Customer a"}


def test_search_text_has_text_and_choice_labels_but_no_phone(catalogue: dict[str, Any]) -> None:
    text = customfields.search_text(CUSTOMER, catalogue["a"])

    assert text.splitlines() == ["VIP", "VIP", "Key account", "Always first"]
    assert "138" not in text


# --- definitions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field_name", "message"),
    [
        ({"name": "Bad Key", "kind": "text"}, "name", "lower-case letters"),
        ({"name": "1st", "kind": "text"}, "name", "lower-case letters"),
        ({"name": "city", "kind": "text"}, "name", "has a field with this name"),
        ({"name": "owner_id", "kind": "text"}, "name", "has a field with this name"),
        ({"name": "tags", "kind": "text"}, "name", "reserved"),
        ({"name": "contains", "kind": "text"}, "name", "reserved"),
        ({"name": "tier", "kind": "choice", "choices": []}, "choices", "at least one choice"),
        ({"name": "tier", "kind": "choice", "choices": ["vip", "VIP"]}, "choices", "listed twice"),
        ({"name": "tier", "kind": "choice", "choices": [{"value": "a b", "label": "A"}]}, "choices", "choice value"),
        ({"name": "partner", "kind": "link", "target": "planet"}, "target", "record type"),
        ({"name": "seats", "kind": "integer", "default": "many"}, "default", "whole number"),
        ({"name": "partner", "kind": "link", "target": "customer", "default": 1}, "default", "cannot have a default"),
        ({"name": "x", "kind": "colour"}, "kind", "Choose a type"),
        ({"name": "x", "kind": "text", "record_type": "planet"}, "record_type", "record type"),
    ],
)
def test_definitions_are_validated(admin_user: Any, data: dict[str, Any], field_name: str, message: str) -> None:
    data = {"record_type": "customer", "label": "Label", **data}

    with pytest.raises(ValidationError) as caught:
        definitions.customfield_create(ctx=ctx(admin_user), data=data)

    assert message in " ".join(caught.value.message_dict[field_name])
    assert not CustomField.objects.exists()


def test_key_is_unique_per_record_type(define: Any) -> None:
    define("tier", "text")
    define("tier", "text", record_type="contact")

    with pytest.raises(ValidationError, match="already has a custom field"):
        define("tier", "integer")


def test_only_admins_manage_definitions(rep: Any, make_user: Any, define: Any) -> None:
    manager = make_user("chief", "manager")
    existing = define("tier", "text")

    for user in (rep, manager):
        with pytest.raises(PermissionDenied):
            definitions.customfield_create(
                ctx=ctx(user), data={"record_type": "customer", "name": "x", "label": "X", "kind": "text"}
            )
        with pytest.raises(PermissionDenied):
            definitions.customfield_set_active(ctx=ctx(user), field=existing, active=False)


def test_changing_the_kind_of_a_field_with_values_is_refused(define: Any, rep: Any, admin_user: Any) -> None:
    seats = define("seats", "text")
    empty = define("spare", "text")
    services.record_create(CUSTOMER, ctx=ctx(rep), data={"name": "A", "custom": {"seats": "5"}})

    with pytest.raises(ValidationError) as caught:
        definitions.customfield_update(ctx=ctx(admin_user), field=seats, data={"kind": "integer"})
    definitions.customfield_update(ctx=ctx(admin_user), field=empty, data={"kind": "integer"})

    assert "1 record has a value in this field" in caught.value.message_dict["kind"][0]
    assert CustomField.objects.get(pk=seats.pk).kind == "text"
    assert CustomField.objects.get(pk=empty.pk).kind == "integer"


def test_a_choice_in_use_cannot_be_removed(define: Any, rep: Any, admin_user: Any) -> None:
    tier = define("tier", "multi_choice", choices=TIERS)
    services.record_create(CUSTOMER, ctx=ctx(rep), data={"name": "A", "custom": {"tier": ["key"]}})

    with pytest.raises(ValidationError) as caught:
        definitions.customfield_update(ctx=ctx(admin_user), field=tier, data={"choices": TIERS[:1]})
    definitions.customfield_update(ctx=ctx(admin_user), field=tier, data={"choices": TIERS[:2]})

    assert caught.value.message_dict["choices"] == ["“key” is used by 1 record; keep it."]
    assert [c["value"] for c in CustomField.objects.get(pk=tier.pk).choices] == ["vip", "key"]


def test_key_and_record_type_cannot_change(define: Any, admin_user: Any) -> None:
    tier = define("tier", "text")

    with pytest.raises(ValidationError) as caught:
        definitions.customfield_update(
            ctx=ctx(admin_user), field=tier, data={"name": "level", "record_type": "contact"}
        )

    assert set(caught.value.message_dict) == {"name", "record_type"}


def test_definition_changes_are_audited(define: Any, admin_user: Any) -> None:
    tier = define("tier", "text", label="Tier")
    definitions.customfield_update(ctx=ctx(admin_user), field=tier, data={"label": "Level", "required": True})
    definitions.customfield_set_active(ctx=ctx(admin_user), field=tier, active=False)

    entries = list(AuditEntry.objects.filter(content_type__model="customfield", object_id=tier.pk).order_by("id"))
    assert [entry.action for entry in entries] == ["create", "update", "update"]
    assert entries[1].changes == {"label": ["Tier", "Level"], "required": [False, True]}
    assert entries[2].changes == {"active": [True, False]}


def test_reactivated_field_shows_the_kept_values_again(define: Any, rep: Any, admin_user: Any) -> None:
    motto = define("motto", "text")
    obj = services.record_create(CUSTOMER, ctx=ctx(rep), data={"name": "A", "custom": {"motto": "Go"}})
    definitions.customfield_set_active(ctx=ctx(admin_user), field=motto, active=False)
    definitions.customfield_set_active(ctx=ctx(admin_user), field=motto, active=True)

    sections = customfields.detail_sections(CUSTOMER, Customer.objects.get(pk=obj.pk), rep)

    assert [(item["label"], item["value"]) for s in sections for item in s["items"]] == [("Motto", "Go")]


def test_move_reorders_fields_and_sections_follow_their_first_field(define: Any, admin_user: Any) -> None:
    first = define("first", "text", section="Billing")
    define("second", "text")
    third = define("third", "text", section="Billing")

    definitions.customfield_move(ctx=ctx(admin_user), field=third, step=-1)
    definitions.customfield_move(ctx=ctx(admin_user), field=first, step=1)

    ordered = customfields.definitions("customer")
    assert [d.name for d in ordered] == ["third", "first", "second"]
    assert [d.order for d in ordered] == [10, 20, 30]
    grouped = customfields.sections(ordered)
    assert [(title, [d.name for d in fields]) for title, fields in grouped] == [
        ("", ["second"]),
        ("Billing", ["third", "first"]),
    ]


def test_definitions_are_read_once_within_a_request_or_cached_block(
    define: Any, django_assert_num_queries: Any
) -> None:
    define("tier", "text")

    with customfields.cached():
        with django_assert_num_queries(1):
            customfields.definitions("customer")
            customfields.definitions("customer")
            customfields.column_keys(CUSTOMER)
        define("level", "text")  # a change in the block is seen at once
        assert [d.name for d in customfields.definitions("customer")] == ["tier", "level"]


def test_datetime_filter_reads_local_dates(catalogue: dict[str, Any], rep: Any) -> None:
    # 2026-01-10T23:30+08:00 is the 10th in Shanghai though the 10th 15:30 in UTC
    local = timezone.localtime(datetime.datetime(2026, 1, 10, 15, 30, tzinfo=datetime.UTC))
    assert local.date() == datetime.date(2026, 1, 10)
    found = selectors.record_list(
        CUSTOMER, user=rep, params={"cf_met_at_min": "2026-01-10", "cf_met_at_max": "2026-01-10"}
    )
    assert names(found) == {"Customer a"}
