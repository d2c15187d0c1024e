"""Many-to-many fields in the generic API: lists of ids in and out, typed in the OpenAPI
document, refused with problem+json when an id is not visible or not an id."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.support import assert_problem, error_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(rep: Any, make_customer: Any) -> Any:
    return make_customer(rep, name="Acme")


def test_openapi_types_many_to_many_fields_as_lists_of_ids(rep: Any, api_as: Any) -> None:
    schemas = api_as(rep).get("/openapi.json").json()["components"]["schemas"]
    for name in ("InteractionCreate", "InteractionPatch"):
        contacts = schemas[name]["properties"]["contacts"]
        variants = contacts.get("anyOf", [contacts])
        assert {"type": "array", "items": {"type": "integer"}} in [
            {"type": v.get("type"), "items": v.get("items")} for v in variants
        ]
    out = schemas["InteractionOut"]["properties"]["participants"]
    assert out["type"] == "array"
    assert out["items"] == {"type": "integer"}


def test_ids_in_and_sorted_ids_out(rep: Any, api_as: Any, customer: Any, make_contact: Any) -> None:
    first, second = make_contact(rep, customer, name="A"), make_contact(rep, customer, name="B")
    api = api_as(rep)
    created = api.post("/interactions/", {"customer": customer.pk, "subject": "Hi", "contacts": [second.pk, first.pk]})
    assert created.status_code == 201, created.content
    assert created.json()["contacts"] == sorted([first.pk, second.pk])
    got = api.get(f"/interactions/{created.json()['id']}/").json()
    assert got["contacts"] == sorted([first.pk, second.pk])
    assert got["participants"] == []


def test_an_id_the_caller_cannot_see_is_422(
    rep: Any, other_rep: Any, api_as: Any, customer: Any, make_customer: Any, make_contact: Any
) -> None:
    hidden = make_contact(other_rep, make_customer(other_rep, name="South"))
    response = api_as(rep).post("/interactions/", {"customer": customer.pk, "subject": "Hi", "contacts": [hidden.pk]})
    body = assert_problem(response, 422)
    assert error_fields(body) == {"contacts"}
    assert str(hidden.pk) in body["errors"][0]["message"]


def test_a_value_that_is_not_a_list_of_ids_is_422(rep: Any, api_as: Any, customer: Any) -> None:
    response = api_as(rep).post("/interactions/", {"customer": customer.pk, "subject": "Hi", "contacts": ["abc"]})
    assert "contacts.0" in error_fields(assert_problem(response, 422))


def test_list_reads_related_ids_without_a_query_per_row(
    rep: Any, api_as: Any, customer: Any, make_contact: Any, django_assert_max_num_queries: Any
) -> None:
    from kehu.activities import services
    from kehu.platform.context import Context

    contact = make_contact(rep, customer)
    for n in range(5):
        services.interaction_log(Context(user=rep), {"customer": customer, "subject": f"S{n}", "contacts": [contact]})
    api = api_as(rep)
    with django_assert_max_num_queries(14):
        listed = api.get("/interactions/").json()
    assert listed["count"] == 5
    assert all(item["contacts"] == [contact.pk] for item in listed["items"])
