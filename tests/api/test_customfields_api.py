"""Custom fields through the REST API: the ``custom`` object in create, patch, get and list,
422 problem documents naming ``custom.<key>``, ``cf_…`` list filters, and the OpenAPI document
describing a field as soon as an admin adds it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from kehu.customers.models import Customer
from kehu.platform.context import Context
from kehu.platform.customfields import services as definitions
from tests.api.support import assert_problem, error_fields

pytestmark = pytest.mark.django_db

TIERS = [{"value": "vip", "label": "VIP"}, {"value": "std", "label": "Standard"}]


@pytest.fixture
def fields(define: Any) -> None:
    define("tier", "choice", choices=TIERS, default="std")
    define("budget", "money")
    define("renewal", "date")
    define("seats", "integer")
    define("motto", "text")


def test_create_accepts_custom_values_and_answers_them_normalized(api_as: Any, rep: Any, fields: None) -> None:
    api = api_as(rep)

    response = api.post(
        "/customers/", {"name": "Acme", "custom": {"budget": {"amount": 1200}, "renewal": "2026-06-30", "seats": "12"}}
    )

    assert response.status_code == 201, response.content
    assert response.json()["custom"] == {
        "tier": "std",
        "budget": {"amount": "1200.00", "currency": "CNY"},
        "renewal": "2026-06-30",
        "seats": 12,
    }
    assert Customer.objects.get(pk=response.json()["id"]).custom["seats"] == 12


def test_patch_merges_custom_values_and_null_clears_one(api_as: Any, rep: Any, fields: None) -> None:
    api = api_as(rep)
    created = api.post("/customers/", {"name": "Acme", "custom": {"motto": "Go", "seats": 3}}).json()

    changed = api.patch(f"/customers/{created['id']}/", {"custom": {"seats": None, "tier": "vip"}, "version": 1})

    assert changed.status_code == 200, changed.content
    assert changed.json()["custom"] == {"motto": "Go", "tier": "vip"}
    assert changed.json()["version"] == 2
    assert api.get(f"/customers/{created['id']}/").json()["custom"] == {"motto": "Go", "tier": "vip"}


@pytest.mark.parametrize(
    ("custom", "field", "message"),
    [
        ({"tier": "gold"}, "custom.tier", "gold is not one of the choices (vip, std)."),
        ({"seats": "a dozen"}, "custom.seats", "Enter a whole number."),
        ({"renewal": "30/06/2026"}, "custom.renewal", "Enter a date as YYYY-MM-DD."),
        ({"budget": {"amount": "1", "currency": "EURO"}}, "custom.budget", "ISO 4217"),
        ({"colour": "red"}, "custom.colour", "There is no custom field with this key."),
    ],
)
def test_bad_custom_value_answers_422_naming_the_field(
    api_as: Any, rep: Any, fields: None, custom: dict[str, Any], field: str, message: str
) -> None:
    response = api_as(rep).post("/customers/", {"name": "Acme", "custom": custom})

    body = assert_problem(response, 422)
    assert error_fields(body) == {field}
    assert message in body["errors"][0]["message"]
    assert not Customer.objects.exists()


def test_custom_must_be_an_object(api_as: Any, rep: Any, fields: None) -> None:
    body = assert_problem(api_as(rep).post("/customers/", {"name": "Acme", "custom": ["vip"]}), 422)

    assert error_fields(body) == {"custom"}


def test_required_field_missing_answers_422_and_patch_cannot_clear_it(api_as: Any, rep: Any, define: Any) -> None:
    define("region", "text", required=True)
    api = api_as(rep)

    missing = assert_problem(api.post("/customers/", {"name": "Acme"}), 422)
    created = api.post("/customers/", {"name": "Acme", "custom": {"region": "East"}}).json()
    cleared = assert_problem(api.patch(f"/customers/{created['id']}/", {"custom": {"region": ""}}), 422)

    assert missing["errors"] == [{"field": "custom.region", "message": "This field is required."}]
    assert cleared["errors"] == [{"field": "custom.region", "message": "This field is required."}]


def test_patch_of_unrelated_fields_leaves_custom_values_alone(api_as: Any, rep: Any, fields: None) -> None:
    api = api_as(rep)
    created = api.post("/customers/", {"name": "Acme", "custom": {"motto": "Go"}}).json()

    changed = api.patch(f"/customers/{created['id']}/", {"city": "杭州"}).json()

    assert changed["custom"] == {"motto": "Go", "tier": "std"}


def test_sending_back_what_was_read_changes_nothing(api_as: Any, rep: Any, fields: None, admin_user: Any) -> None:
    api = api_as(rep)
    created = api.post("/customers/", {"name": "Acme", "custom": {"motto": "Go", "seats": 2}}).json()
    motto = definitions.CustomField.objects.get(name="motto")
    definitions.customfield_set_active(ctx=Context(user=admin_user), field=motto, active=False)
    read = api.get(f"/customers/{created['id']}/").json()

    echoed = api.patch(f"/customers/{created['id']}/", {"custom": read["custom"], "version": read["version"]})

    assert echoed.status_code == 200, echoed.content
    assert echoed.json()["version"] == read["version"]
    assert echoed.json()["custom"]["motto"] == "Go"  # kept while the field is inactive


def test_link_to_an_invisible_record_answers_422(
    api_as: Any, rep: Any, other_rep: Any, make_customer: Any, define: Any
) -> None:
    define("partner", "link", target="customer")
    theirs = make_customer(other_rep, name="Theirs")

    body = assert_problem(api_as(rep).post("/customers/", {"name": "Acme", "custom": {"partner": theirs.pk}}), 422)

    assert body["errors"] == [{"field": "custom.partner", "message": "Select a valid customer."}]


def test_contacts_get_their_own_custom_fields(api_as: Any, rep: Any, make_customer: Any, define: Any) -> None:
    define("anniversary", "date", record_type="contact")
    customer = make_customer(rep)
    api = api_as(rep)

    created = api.post("/contacts/", {"name": "Li", "customer": customer.pk, "custom": {"anniversary": "1990-05-04"}})
    wrong = api.post("/customers/", {"name": "Acme", "custom": {"anniversary": "1990-05-04"}})

    assert created.status_code == 201, created.content
    assert created.json()["custom"] == {"anniversary": "1990-05-04"}
    assert error_fields(assert_problem(wrong, 422)) == {"custom.anniversary"}


def test_list_filters_on_custom_values(api_as: Any, rep: Any, other_rep: Any, make_customer: Any, fields: None) -> None:
    make_customer(rep, name="Small", custom={"seats": 3, "tier": "std", "motto": "Slow and steady"})
    make_customer(rep, name="Large", custom={"seats": 300, "tier": "vip", "renewal": "2026-12-31"})
    make_customer(other_rep, name="Hidden", custom={"seats": 900, "tier": "vip"})
    api = api_as(rep)

    def listed(**params: Any) -> list[str]:
        response = api.get("/customers/", params)
        assert response.status_code == 200, response.content
        return sorted(item["name"] for item in response.json()["items"])

    assert listed(cf_tier="vip") == ["Large"]
    assert listed(cf_seats_min=10) == ["Large"]
    assert listed(cf_seats_max=10) == ["Small"]
    assert listed(cf_renewal_min="2026-12-01", cf_renewal_max="2026-12-31") == ["Large"]
    assert listed(cf_motto="STEADY") == ["Small"]
    assert listed(q="steady") == ["Small"]


def test_unknown_or_bad_custom_filters_answer_422(api_as: Any, rep: Any, fields: None) -> None:
    api = api_as(rep)

    unknown = assert_problem(api.get("/customers/", {"cf_colour": "red"}), 422)
    bad = assert_problem(api.get("/customers/", {"cf_seats_min": "many"}), 422)

    assert error_fields(unknown) == {"cf_colour"}
    assert error_fields(bad) == {"cf_seats_min"}


def test_openapi_describes_a_custom_field_right_after_it_is_added(db: Any, define: Any) -> None:
    before = Client().get("/api/v1/openapi.json").json()
    define("tier", "choice", choices=TIERS, required=True, help_text="How much the customer buys.", section="Sales")
    define("budget", "money")

    schema = Client().get("/api/v1/openapi.json").json()

    assert before["components"]["schemas"]["CustomerOut"]["properties"]["custom"]["properties"] == {}
    components = schema["components"]["schemas"]
    out = components["CustomerOut"]["properties"]["custom"]
    tier = out["properties"]["tier"]
    assert tier["title"] == "Tier"
    assert tier["anyOf"][0] == {"type": "string", "enum": ["vip", "std"]}
    assert "How much the customer buys." in tier["description"]
    assert tier["x-kehu-kind"] == "choice"
    assert out["properties"]["budget"]["anyOf"][0]["properties"]["currency"]["pattern"] == "^[A-Z]{3}$"
    create = components["CustomerCreate"]
    assert create["properties"]["custom"]["required"] == ["tier"]
    assert "custom" in create["required"]
    assert components["CustomerPatch"]["properties"]["custom"]["anyOf"][0]["additionalProperties"] is False
    assert "tier" not in components["ContactOut"]["properties"]["custom"]["properties"]
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/customers/"]["get"]["parameters"]}
    assert parameters["cf_tier"]["schema"] == {"type": "string", "enum": ["vip", "std"]}
    assert "cf_budget" not in parameters


def test_openapi_drops_a_deactivated_field(db: Any, define: Any, admin_user: Any) -> None:
    tier = define("tier", "text")
    definitions.customfield_set_active(ctx=Context(user=admin_user), field=tier, active=False)

    schema = Client().get("/api/v1/openapi.json").json()

    assert "tier" not in schema["components"]["schemas"]["CustomerOut"]["properties"]["custom"]["properties"]
