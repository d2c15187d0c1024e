"""Create, list, get, patch and delete customers and contacts through /api/v1 with a token;
list paging, sorting, search and filters; optimistic locking; invalid input."""

from __future__ import annotations

from typing import Any

import pytest

from kehu.customers.models import Contact, Customer
from kehu.platform.models import AuditEntry
from tests.api.support import assert_problem, audit_count, error_fields

# ---------------------------------------------------------------- create, list, get, patch, delete


def test_create_answers_201_with_the_stored_record(rep: Any, api_as: Any, resource: Any) -> None:
    api = api_as(rep)

    response = api.post(resource.url(), resource.payload(rep, name="Acme Trading", email="info@acme.example"))

    assert response.status_code == 201, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    stored = resource.row(body["id"])
    assert body["number"] == stored.number
    assert body["number"].startswith(resource.prefix)
    assert body["version"] == stored.version == 1
    assert body["name"] == stored.name == "Acme Trading"
    assert body["email"] == "info@acme.example"
    assert body["owner"] == stored.owner_id == rep.pk
    assert body["team"] == rep.team_id
    assert body["created_by"] == rep.pk


def test_create_contact_links_it_to_the_customer_and_its_owner(rep: Any, api_as: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Parent Co")

    response = api_as(rep).post("/contacts/", {"customer": customer.pk, "name": "Wang Fang", "is_primary": True})

    assert response.status_code == 201, response.content
    contact = Contact.objects.get(pk=response.json()["id"])
    assert contact.customer_id == customer.pk
    assert response.json()["customer"] == customer.pk
    assert contact.is_primary is True
    assert (contact.owner_id, contact.team_id) == (customer.owner_id, customer.team_id)


def test_create_normalizes_a_phone_number_to_e164(rep: Any, api_as: Any) -> None:
    response = api_as(rep).post("/customers/", {"name": "Acme", "phone": "138 0013 8000"})

    assert response.status_code == 201, response.content
    assert response.json()["phone"] == "+8613800138000"
    assert Customer.objects.get(pk=response.json()["id"]).phone == "+8613800138000"


def test_list_shows_created_records(rep: Any, api_as: Any, resource: Any) -> None:
    api = api_as(rep)
    created = api.post(resource.url(), resource.payload(rep, name="Listed One")).json()

    response = api.get(resource.url())

    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["id"] for item in items if item["name"] == "Listed One"] == [created["id"]]
    assert next(item for item in items if item["id"] == created["id"]) == created


def test_get_answers_the_record(rep: Any, api_as: Any, resource: Any) -> None:
    record = resource.make(rep, name="Got It")

    response = api_as(rep).get(resource.url(record.pk))

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["number"], body["name"], body["version"]) == (
        record.pk,
        record.number,
        "Got It",
        record.version,
    )


def test_patch_changes_only_the_given_fields_and_bumps_the_version(rep: Any, api_as: Any, resource: Any) -> None:
    record = resource.make(rep, name="Old name", email="old@acme.example")

    response = api_as(rep).patch(resource.url(record.pk), {"name": "New name", "version": record.version})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "New name"
    assert body["email"] == "old@acme.example"
    assert body["version"] == record.version + 1
    stored = resource.row(record.pk)
    assert (stored.name, stored.email, stored.version) == ("New name", "old@acme.example", record.version + 1)
    assert stored.updated_by_id == rep.pk


def test_patch_without_version_applies_the_change(rep: Any, api_as: Any, resource: Any) -> None:
    record = resource.make(rep, name="Old name")

    response = api_as(rep).patch(resource.url(record.pk), {"name": "Renamed"})

    assert response.status_code == 200, response.content
    assert resource.row(record.pk).name == "Renamed"


def test_delete_answers_204_and_moves_the_record_to_the_trash(rep: Any, api_as: Any, resource: Any) -> None:
    api = api_as(rep)
    record = resource.make(rep, name="Doomed")

    response = api.delete(resource.url(record.pk))

    assert response.status_code == 204
    assert response.content == b""
    stored = resource.row(record.pk)
    assert stored.deleted_at is not None
    assert stored.deleted_by_id == rep.pk
    assert record.pk not in [item["id"] for item in api.get(resource.url()).json()["items"]]
    assert_problem(api.get(resource.url(record.pk)), 404)


def test_deleting_a_customer_moves_its_contacts_to_the_trash(
    rep: Any, api_as: Any, make_customer: Any, make_contact: Any
) -> None:
    api = api_as(rep)
    customer = make_customer(rep, name="Parent Co")
    contact = make_contact(rep, customer, name="Child")

    assert api.delete(f"/customers/{customer.pk}/").status_code == 204

    assert Contact.all_objects.get(pk=contact.pk).deleted_at is not None
    assert api.get("/contacts/").json()["count"] == 0
    assert_problem(api.get(f"/contacts/{contact.pk}/"), 404)


def test_delete_with_a_stale_version_answers_409_and_keeps_the_record(rep: Any, api_as: Any, resource: Any) -> None:
    record = resource.make(rep)
    entries = audit_count()

    response = api_as(rep).delete(resource.url(record.pk) + f"?version={record.version + 5}")

    body = assert_problem(response, 409)
    assert body["current_version"] == record.version
    assert resource.row(record.pk).deleted_at is None
    assert audit_count() == entries


# ---------------------------------------------------------------- list: envelope, paging, sorting, search, filters


def test_list_answers_the_items_and_count_envelope(rep: Any, api_as: Any, resource: Any) -> None:
    resource.make(rep, name="First")
    resource.make(rep, name="Second")

    body = api_as(rep).get(resource.url()).json()

    assert set(body) == {"items", "count"}
    assert body["count"] == 2
    assert sorted(item["name"] for item in body["items"]) == ["First", "Second"]
    assert {"id", "number", "version", "owner", "team", "created_at", "updated_at"} <= set(body["items"][0])


def test_list_limit_and_offset_page_through_all_records_with_the_full_count(
    rep: Any, api_as: Any, resource: Any
) -> None:
    api = api_as(rep)
    ids = {resource.make(rep, name=f"Record {i}").pk for i in range(5)}

    pages = [api.get(resource.url(), {"limit": 2, "offset": offset}).json() for offset in (0, 2, 4)]

    assert [page["count"] for page in pages] == [5, 5, 5]
    assert [len(page["items"]) for page in pages] == [2, 2, 1]
    seen = [item["id"] for page in pages for item in page["items"]]
    assert sorted(seen) == sorted(ids)
    assert api.get(resource.url(), {"limit": 2, "offset": 10}).json() == {"items": [], "count": 5}


@pytest.mark.parametrize("limit", [0, -1, 501, "many"])
def test_list_with_a_limit_out_of_range_answers_422(rep: Any, api_as: Any, resource: Any, limit: Any) -> None:
    body = assert_problem(api_as(rep).get(resource.url(), {"limit": limit}), 422)

    assert "limit" in error_fields(body)


def test_list_with_a_negative_offset_answers_422(rep: Any, api_as: Any, resource: Any) -> None:
    body = assert_problem(api_as(rep).get(resource.url(), {"offset": -1}), 422)

    assert "offset" in error_fields(body)


def test_list_ordering_sorts_by_name_ascending_and_descending(rep: Any, api_as: Any, resource: Any) -> None:
    api = api_as(rep)
    for name in ["Beta", "Alpha", "Gamma"]:
        resource.make(rep, name=name)

    ascending = [item["name"] for item in api.get(resource.url(), {"ordering": "name"}).json()["items"]]
    descending = [item["name"] for item in api.get(resource.url(), {"ordering": "-name"}).json()["items"]]

    assert ascending == ["Alpha", "Beta", "Gamma"]
    assert descending == ["Gamma", "Beta", "Alpha"]


def test_list_without_ordering_shows_the_latest_changed_first(rep: Any, api_as: Any, resource: Any) -> None:
    api = api_as(rep)
    first = resource.make(rep, name="First")
    resource.make(rep, name="Second")
    api.patch(resource.url(first.pk), {"name": "First, changed"})

    names = [item["name"] for item in api.get(resource.url()).json()["items"]]

    assert names == ["First, changed", "Second"]


def test_list_ordering_by_number_follows_creation(rep: Any, api_as: Any, resource: Any) -> None:
    api = api_as(rep)
    made = [resource.make(rep, name=name).number for name in ["Zed", "Amy", "Max"]]

    numbers = [item["number"] for item in api.get(resource.url(), {"ordering": "number"}).json()["items"]]
    reverse = [item["number"] for item in api.get(resource.url(), {"ordering": "-number"}).json()["items"]]

    assert numbers == sorted(made)
    assert reverse == sorted(made, reverse=True)


@pytest.mark.parametrize("ordering", ["email", "-password", "owner__password", "nope"])
def test_list_with_an_unknown_ordering_answers_422_naming_ordering(
    rep: Any, api_as: Any, resource: Any, ordering: str
) -> None:
    resource.make(rep)

    body = assert_problem(api_as(rep).get(resource.url(), {"ordering": ordering}), 422)

    assert error_fields(body) == {"ordering"}


def test_list_q_searches_name_and_number(rep: Any, api_as: Any, resource: Any) -> None:
    api = api_as(rep)
    hit = resource.make(rep, name="Shanghai Widgets")
    other = resource.make(rep, name="Beijing Gadgets")

    by_name = api.get(resource.url(), {"q": "widget"}).json()
    by_number = api.get(resource.url(), {"q": other.number}).json()
    nothing = api.get(resource.url(), {"q": "no such thing"}).json()

    assert [item["id"] for item in by_name["items"]] == [hit.pk]
    assert by_name["count"] == 1
    assert [item["id"] for item in by_number["items"]] == [other.pk]
    assert nothing == {"items": [], "count": 0}


def test_list_q_finds_a_phone_number_written_another_way(rep: Any, api_as: Any, resource: Any) -> None:
    record = resource.make(rep, name="Caller", phone="+86 138 0013 8000")
    resource.make(rep, name="Silent")

    body = api_as(rep).get(resource.url(), {"q": "13800138000"}).json()

    assert [item["id"] for item in body["items"]] == [record.pk]


def test_customer_list_filters_by_kind_city_and_owner(rep: Any, teammate: Any, api_as: Any, make_customer: Any) -> None:
    api = api_as(rep)
    person = make_customer(rep, name="Zhang San", kind="person", city="Shanghai")
    company = make_customer(rep, name="Acme", kind="company", city="Shanghai Pudong")
    elsewhere = make_customer(teammate, name="Far Away", kind="company", city="Beijing")

    def ids(**params: Any) -> list[int]:
        response = api.get("/customers/", params)
        assert response.status_code == 200, response.content
        return sorted(item["id"] for item in response.json()["items"])

    assert ids(kind="person") == [person.pk]
    assert ids(kind="company") == sorted([company.pk, elsewhere.pk])
    assert ids(city="shanghai") == sorted([person.pk, company.pk])
    assert ids(kind="company", city="shanghai") == [company.pk]
    assert ids(owner=teammate.pk) == [elsewhere.pk]
    assert api.get("/customers/", {"kind": "person"}).json()["count"] == 1


def test_contact_list_filters_by_customer_and_primary(
    rep: Any, api_as: Any, make_customer: Any, make_contact: Any
) -> None:
    api = api_as(rep)
    first, second = make_customer(rep, name="First Co"), make_customer(rep, name="Second Co")
    boss = make_contact(rep, first, name="Boss", is_primary=True)
    clerk = make_contact(rep, first, name="Clerk")
    other = make_contact(rep, second, name="Other")

    def ids(**params: Any) -> list[int]:
        response = api.get("/contacts/", params)
        assert response.status_code == 200, response.content
        return sorted(item["id"] for item in response.json()["items"])

    assert ids(customer=first.pk) == sorted([boss.pk, clerk.pk])
    assert ids(customer=second.pk) == [other.pk]
    assert ids(is_primary="true") == [boss.pk]
    assert ids(customer=first.pk, is_primary="false") == [clerk.pk]


@pytest.mark.parametrize(
    ("plural", "params", "field"),
    [
        ("customers", {"kind": "alien"}, "kind"),
        ("customers", {"size": "huge"}, "size"),
        ("customers", {"owner": "nobody"}, "owner"),
        ("customers", {"team": "999999"}, "team"),
        ("contacts", {"customer": "abc"}, "customer"),
    ],
)
def test_list_with_an_invalid_filter_value_answers_422_naming_the_filter(
    rep: Any, api_as: Any, make_customer: Any, plural: str, params: dict[str, str], field: str
) -> None:
    make_customer(rep)

    body = assert_problem(api_as(rep).get(f"/{plural}/", params), 422)

    assert field in error_fields(body)


# ---------------------------------------------------------------- optimistic locking


def test_patch_with_stale_version_answers_409_and_changes_nothing(rep: Any, api_as: Any, resource: Any) -> None:
    api = api_as(rep)
    record = resource.make(rep, name="Original")
    read = api.get(resource.url(record.pk)).json()
    assert api.patch(resource.url(record.pk), {"name": "First writer", "version": read["version"]}).status_code == 200
    before = resource.row(record.pk)
    entries = audit_count()

    response = api.patch(resource.url(record.pk), {"name": "Second writer", "version": read["version"]})

    body = assert_problem(response, 409)
    assert body["current_version"] == before.version == read["version"] + 1
    after = resource.row(record.pk)
    assert (after.name, after.version, after.updated_at) == ("First writer", before.version, before.updated_at)
    assert audit_count() == entries


def test_patch_with_a_version_from_the_future_answers_409(rep: Any, api_as: Any, resource: Any) -> None:
    record = resource.make(rep, name="Original")

    body = assert_problem(api_as(rep).patch(resource.url(record.pk), {"name": "X", "version": 99}), 409)

    assert body["current_version"] == 1
    assert resource.row(record.pk).name == "Original"


# ---------------------------------------------------------------- invalid input

INVALID_CREATES = [
    ("customers", {}, "name"),
    ("customers", {"name": ""}, "name"),
    ("customers", {"name": "Acme", "phone": "12"}, "phone"),
    ("customers", {"name": "Acme", "email": "not-an-email"}, "email"),
    ("customers", {"name": "Acme", "kind": "alien"}, "kind"),
    ("customers", {"name": "Acme", "website": "not a url"}, "website"),
    ("customers", {"name": "x" * 201}, "name"),
    ("contacts", {"name": None}, "name"),
    ("contacts", {"mobile": "12"}, "mobile"),
    ("contacts", {"email": "li@"}, "email"),
    ("contacts", {"customer": 999999}, "customer"),
    ("contacts", {"customer": None}, "customer"),
]


@pytest.mark.parametrize(("plural", "changes", "field"), INVALID_CREATES)
def test_create_with_invalid_input_answers_422_problem_naming_the_field(
    rep: Any, api_as: Any, make_customer: Any, plural: str, changes: dict[str, Any], field: str
) -> None:
    payload: dict[str, Any] = {"name": "Acme"}
    if plural == "contacts":
        payload["customer"] = make_customer(rep).pk
    payload.update(changes)
    if changes == {}:
        payload.pop("name")
    rows = (Customer.all_objects.count(), Contact.all_objects.count())
    entries = audit_count()

    response = api_as(rep).post(f"/{plural}/", payload)

    body = assert_problem(response, 422)
    assert field in error_fields(body)
    assert all(error["message"] for error in body["errors"])
    assert (Customer.all_objects.count(), Contact.all_objects.count()) == rows
    assert audit_count() == entries


def test_create_ignores_number_and_version_sent_in_the_body(rep: Any, api_as: Any) -> None:
    response = api_as(rep).post("/customers/", {"name": "Acme", "number": "C-999999", "version": 42})

    assert response.status_code == 201, response.content
    assert response.json()["number"] != "C-999999"
    assert response.json()["version"] == 1


def test_create_with_a_body_that_is_not_json_answers_400_problem(rep: Any, api_as: Any) -> None:
    response = api_as(rep).post("/customers/", "{not json")

    assert assert_problem(response, 400)["detail"] == "Cannot parse request body"
    assert Customer.all_objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"name": ""}, "name"), ({"name": None}, "name"), ({"email": "nope"}, "email"), ({"phone": "12"}, "phone")],
)
def test_patch_with_invalid_input_answers_422_and_changes_nothing(
    rep: Any, api_as: Any, resource: Any, changes: dict[str, Any], field: str
) -> None:
    record = resource.make(rep, name="Keep me", email="keep@acme.example")
    entries = audit_count()

    body = assert_problem(api_as(rep).patch(resource.url(record.pk), changes), 422)

    assert field in error_fields(body)
    stored = resource.row(record.pk)
    assert (stored.name, stored.email, stored.version) == ("Keep me", "keep@acme.example", 1)
    assert audit_count() == entries


def test_patch_with_an_unknown_kind_answers_422(rep: Any, api_as: Any, make_customer: Any) -> None:
    customer = make_customer(rep, kind="company")

    body = assert_problem(api_as(rep).patch(f"/customers/{customer.pk}/", {"kind": "alien"}), 422)

    assert error_fields(body) == {"kind"}
    assert Customer.objects.get(pk=customer.pk).kind == "company"


def test_sales_rep_cannot_give_a_record_to_someone_else(rep: Any, other_rep: Any, api_as: Any) -> None:
    body = assert_problem(api_as(rep).post("/customers/", {"name": "Acme", "owner": other_rep.pk}), 422)

    assert "owner" in error_fields(body)
    assert not Customer.all_objects.exists()


def test_manager_can_assign_a_customer_to_a_rep_of_the_team_tree(manager: Any, rep: Any, api_as: Any) -> None:
    response = api_as(manager).post("/customers/", {"name": "Acme", "owner": rep.pk})

    assert response.status_code == 201, response.content
    assert (response.json()["owner"], response.json()["team"]) == (rep.pk, rep.team_id)
    assert AuditEntry.objects.filter(object_id=response.json()["id"], actor=manager).exists()


def test_patch_with_a_null_owner_answers_422_naming_owner(
    rep: Any, manager: Any, api_as: Any, make_customer: Any
) -> None:
    customer = make_customer(rep, name="Owned")

    for user in (rep, manager):
        body = assert_problem(api_as(user).patch(f"/customers/{customer.pk}/", {"owner": None}), 422)
        assert error_fields(body) == {"owner"}

    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.owner_id, stored.team_id, stored.version) == (rep.pk, rep.team_id, 1)


def test_text_with_a_null_character_answers_422_not_a_server_error(rep: Any, api_as: Any, resource: Any) -> None:
    """PostgreSQL cannot store NUL in text; the API refuses it as invalid input on every database."""
    api = api_as(rep)
    record = resource.make(rep, name="Clean")

    created = assert_problem(api.post(resource.url(), resource.payload(rep, name="Bad\x00name")), 422)
    patched = assert_problem(api.patch(resource.url(record.pk), {"notes": "bad\x00notes"}), 422)

    assert error_fields(created) == {"name"}
    assert error_fields(patched) == {"notes"}
    assert not resource.model.all_objects.filter(name__startswith="Bad").exists()
    assert resource.row(record.pk).notes == ""


def test_search_text_with_a_null_character_answers_422(rep: Any, api_as: Any, resource: Any) -> None:
    body = assert_problem(api_as(rep).get(resource.url(), {"q": "a\x00b"}), 422)

    assert error_fields(body) == {"q"}


def test_api_path_that_matches_no_route_answers_problem_json(client: Any) -> None:
    response = client.get("/api/v1/customers/abc/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_web_path_that_matches_no_route_answers_the_html_page(client: Any) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
