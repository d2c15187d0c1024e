"""Tags through /api/v1: ``tags`` on every record (out, and in on create and patch), the
``tags``/``tags_match`` list filter, and the /tags/ resource with its permissions, token
scopes and problem+json errors."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from kehu.accounts.models import Role
from kehu.customers.models import Customer
from kehu.platform import tags
from kehu.platform.context import Context, Source
from kehu.platform.models import AuditAction, AuditEntry, Tag
from tests.api.support import assert_problem, error_fields

pytestmark = pytest.mark.django_db


def make_tag(user: Any, name: str, **data: Any) -> Tag:
    return tags.tag_create(Context(user=user, source=Source.CLI), name=name, **data)


@pytest.fixture
def vip(admin_user: Any) -> Tag:
    return make_tag(admin_user, "VIP", color="#d63939")


@pytest.fixture
def key_account(admin_user: Any) -> Tag:
    return make_tag(admin_user, "key account", record_type="customer")


def stored_names(model: Any, pk: int) -> list[str]:
    return sorted(tag.name for tag in model.all_objects.get(pk=pk).tags.all())


# ---------------------------------------------------------------- tags on records


def test_every_record_answers_its_tags_sorted_by_name(
    rep: Any, api_as: Any, resource: Any, vip: Tag, admin_user: Any
) -> None:
    make_tag(admin_user, "alpha")
    record = resource.make(rep, tags=["VIP", "alpha"])

    body = api_as(rep).get(resource.url(record.pk)).json()

    assert body["tags"] == ["alpha", "VIP"]
    listed = api_as(rep).get(resource.url()).json()["items"]
    assert [item["tags"] for item in listed if item["id"] == record.pk] == [["alpha", "VIP"]]


def test_create_with_tag_names_sets_them(rep: Any, api_as: Any, resource: Any, vip: Tag) -> None:
    response = api_as(rep).post(resource.url(), resource.payload(rep, tags=["vip"]))

    assert response.status_code == 201, response.content
    assert response.json()["tags"] == ["VIP"]
    assert stored_names(resource.model, response.json()["id"]) == ["VIP"]


def test_patch_replaces_the_tags_and_bumps_the_version(
    rep: Any, api_as: Any, vip: Tag, key_account: Tag, make_customer: Any
) -> None:
    customer = make_customer(rep, name="Acme", tags=["VIP"])

    response = api_as(rep).patch(f"/customers/{customer.pk}/", {"tags": ["key account"], "version": 1})

    assert response.status_code == 200, response.content
    assert response.json()["tags"] == ["key account"]
    assert response.json()["version"] == 2
    entry = AuditEntry.objects.filter(object_id=customer.pk, action=AuditAction.UPDATE).get()
    assert entry.changes == {"tags": [["VIP"], ["key account"]]}


@pytest.mark.parametrize("empty", [[], None])
def test_patch_with_no_tags_clears_them(rep: Any, api_as: Any, vip: Tag, make_customer: Any, empty: Any) -> None:
    customer = make_customer(rep, name="Acme", tags=["VIP"])

    response = api_as(rep).patch(f"/customers/{customer.pk}/", {"tags": empty})

    assert response.status_code == 200, response.content
    assert response.json()["tags"] == []


def test_patch_without_tags_leaves_them_alone(rep: Any, api_as: Any, vip: Tag, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme", tags=["VIP"])

    response = api_as(rep).patch(f"/customers/{customer.pk}/", {"city": "Suzhou"})

    assert response.json()["tags"] == ["VIP"]


def test_an_unknown_name_creates_a_tag_when_the_caller_may_add_tags(rep: Any, api_as: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")

    response = api_as(rep).patch(f"/customers/{customer.pk}/", {"tags": ["Hot lead"]})

    assert response.status_code == 200, response.content
    assert Tag.objects.get(name="Hot lead").record_type == "customer"


def test_an_unknown_name_answers_422_naming_tags_when_the_caller_may_not_add_tags(
    rep: Any, api_as: Any, vip: Tag, make_customer: Any
) -> None:
    Role.objects.get(key="sales").permissions.remove(Permission.objects.get(codename="add_tag"))
    customer = make_customer(rep, name="Acme", tags=["VIP"])

    body = assert_problem(api_as(rep).patch(f"/customers/{customer.pk}/", {"tags": ["VIP", "Hot lead"]}), 422)

    assert error_fields(body) == {"tags"}
    assert "Hot lead" in body["errors"][0]["message"]
    assert not Tag.objects.filter(name="Hot lead").exists()
    assert stored_names(Customer, customer.pk) == ["VIP"]


@pytest.mark.parametrize("bad", [["x" * 51], "VIP", [""], ["a,b"]])
def test_bad_tags_answer_422_naming_tags(rep: Any, api_as: Any, make_customer: Any, bad: Any) -> None:
    customer = make_customer(rep, name="Acme")

    body = assert_problem(api_as(rep).patch(f"/customers/{customer.pk}/", {"tags": bad}), 422)

    assert error_fields(body) == {"tags"}
    assert Customer.objects.get(pk=customer.pk).version == 1


def test_a_read_token_cannot_change_tags(rep: Any, api_as: Any, vip: Tag, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")

    assert_problem(api_as(rep, "read").patch(f"/customers/{customer.pk}/", {"tags": ["VIP"]}), 403)
    assert stored_names(Customer, customer.pk) == []


# ---------------------------------------------------------------- the list filter


@pytest.fixture
def tagged(rep: Any, make_customer: Any, vip: Tag, key_account: Tag) -> None:
    make_customer(rep, name="Both", tags=["VIP", "key account"])
    make_customer(rep, name="Only VIP", tags=["VIP"])
    make_customer(rep, name="Only key", tags=["key account"])
    make_customer(rep, name="None")


def names_listed(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return {item["name"] for item in response.json()["items"]}


def test_list_filter_tags_matches_any_by_default(rep: Any, api_as: Any, tagged: None) -> None:
    response = api_as(rep).get("/customers/", {"tags": "VIP,key account"})

    assert names_listed(response) == {"Both", "Only VIP", "Only key"}
    assert response.json()["count"] == 3


def test_list_filter_tags_match_all(rep: Any, api_as: Any, tagged: None) -> None:
    response = api_as(rep).get("/customers/", {"tags": "vip,KEY ACCOUNT", "tags_match": "all"})

    assert names_listed(response) == {"Both"}


@pytest.mark.parametrize(
    ("params", "field"),
    [({"tags": "VIP,Nope"}, "tags"), ({"tags": "VIP", "tags_match": "some"}, "tags_match")],
)
def test_bad_tag_filters_answer_422_naming_the_parameter(
    rep: Any, api_as: Any, tagged: None, params: dict[str, str], field: str
) -> None:
    body = assert_problem(api_as(rep).get("/customers/", params), 422)

    assert error_fields(body) == {field}


def test_list_reads_the_tags_of_a_page_in_one_query(
    rep: Any, api_as: Any, make_customer: Any, vip: Tag, django_assert_max_num_queries: Any
) -> None:
    api = api_as(rep)
    for i in range(3):
        make_customer(rep, name=f"C{i}", tags=["VIP"])
    api.get("/customers/")
    with django_assert_max_num_queries(20) as few:
        api.get("/customers/")
    for i in range(30):
        make_customer(rep, name=f"D{i}", tags=["VIP"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = api.get("/customers/")
    assert all(item["tags"] == ["VIP"] for item in response.json()["items"])


# ---------------------------------------------------------------- /tags/


def test_tags_list_answers_every_tag_with_its_colour_and_type(
    rep: Any, api_as: Any, vip: Tag, key_account: Tag
) -> None:
    response = api_as(rep, "read").get("/tags/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 2
    assert [(t["name"], t["color"], t["record_type"]) for t in body["items"]] == [
        ("key account", "#206bc4", "customer"),
        ("VIP", "#d63939", ""),
    ]
    assert {"id", "created_at"} <= set(body["items"][0])


def test_tags_list_filters_by_record_type_and_name(
    rep: Any, api_as: Any, vip: Tag, key_account: Tag, admin_user: Any
) -> None:
    make_tag(admin_user, "Decision maker", record_type="contact")
    api = api_as(rep)

    assert {t["name"] for t in api.get("/tags/", {"record_type": "contact"}).json()["items"]} == {
        "VIP",
        "Decision maker",
    }
    assert {t["name"] for t in api.get("/tags/", {"q": "acc"}).json()["items"]} == {"key account"}
    body = assert_problem(api.get("/tags/", {"record_type": "planet"}), 422)
    assert error_fields(body) == {"record_type"}


def test_tags_list_pages_with_limit_and_offset(rep: Any, api_as: Any, admin_user: Any) -> None:
    for name in ("a", "b", "c"):
        make_tag(admin_user, name)

    body = api_as(rep).get("/tags/", {"limit": 2, "offset": 1}).json()

    assert ([t["name"] for t in body["items"]], body["count"]) == (["b", "c"], 3)


def test_get_one_tag_and_404_for_a_missing_one(rep: Any, api_as: Any, vip: Tag) -> None:
    api = api_as(rep, "read")

    assert api.get(f"/tags/{vip.pk}/").json()["name"] == "VIP"
    assert_problem(api.get("/tags/999999/"), 404)


def test_create_a_tag(admin_user: Any, api_as: Any) -> None:
    response = api_as(admin_user).post("/tags/", {"name": " Partner ", "color": "#2FB344", "record_type": "contact"})

    assert response.status_code == 201, response.content
    assert {k: response.json()[k] for k in ("name", "color", "record_type")} == {
        "name": "Partner",
        "color": "#2fb344",
        "record_type": "contact",
    }
    assert Tag.objects.filter(name="Partner", record_type="contact").exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "vip"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 51}, "name"),
        ({"name": "ok", "color": "blue"}, "color"),
        ({"name": "ok", "record_type": "planet"}, "record_type"),
        ({"color": "#000000"}, "name"),
    ],
)
def test_bad_tag_input_answers_422_naming_the_field(
    admin_user: Any, api_as: Any, vip: Tag, payload: dict[str, Any], field: str
) -> None:
    body = assert_problem(api_as(admin_user).post("/tags/", payload), 422)

    assert field in error_fields(body)
    assert Tag.objects.count() == 1


def test_creating_a_tag_is_idempotent_with_a_key(admin_user: Any, api_as: Any) -> None:
    api = api_as(admin_user)

    first = api.post("/tags/", {"name": "Partner"}, **{"Idempotency-Key": "tag-1"})
    again = api.post("/tags/", {"name": "Partner"}, **{"Idempotency-Key": "tag-1"})

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Tag.objects.filter(name="Partner").count() == 1


def test_rename_recolour_and_delete_a_tag(admin_user: Any, rep: Any, api_as: Any, vip: Tag, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme", tags=["VIP"])
    api = api_as(admin_user)

    patched = api.patch(f"/tags/{vip.pk}/", {"name": "Very important", "color": "#000000"})
    assert patched.status_code == 200, patched.content
    assert (patched.json()["name"], patched.json()["color"]) == ("Very important", "#000000")
    assert api.get(f"/customers/{customer.pk}/").json()["tags"] == ["Very important"]

    deleted = api.delete(f"/tags/{vip.pk}/")
    assert deleted.status_code == 204
    assert not Tag.objects.exists()
    assert api.get(f"/customers/{customer.pk}/").json()["tags"] == []
    assert_problem(api.delete(f"/tags/{vip.pk}/"), 404)


def test_rename_to_a_taken_name_answers_422(admin_user: Any, api_as: Any, vip: Tag, key_account: Tag) -> None:
    body = assert_problem(api_as(admin_user).patch(f"/tags/{key_account.pk}/", {"name": "VIP"}), 422)

    assert error_fields(body) == {"name"}


def test_who_may_create_change_and_delete_tags(rep: Any, reader: Any, make_user: Any, api_as: Any, vip: Tag) -> None:
    manager = make_user("chief", "manager")

    assert_problem(api_as(reader).post("/tags/", {"name": "Nope"}), 403)
    assert api_as(rep).post("/tags/", {"name": "Sales tag"}).status_code == 201
    assert_problem(api_as(rep).patch(f"/tags/{vip.pk}/", {"name": "Renamed"}), 403)
    assert api_as(manager).patch(f"/tags/{vip.pk}/", {"color": "#000000"}).status_code == 200
    assert_problem(api_as(manager).delete(f"/tags/{vip.pk}/"), 403)
    assert Tag.objects.filter(pk=vip.pk).exists()


def test_token_scopes_for_tags(admin_user: Any, api_as: Any, vip: Tag) -> None:
    area = api_as(admin_user, "customers:write")

    assert area.post("/tags/", {"name": "Customer tag", "record_type": "customer"}).status_code == 201
    assert_problem(area.post("/tags/", {"name": "Shared tag"}), 403)
    assert_problem(area.patch(f"/tags/{vip.pk}/", {"name": "Renamed"}), 403)
    assert_problem(api_as(admin_user, "read").post("/tags/", {"name": "Read only"}), 403)
    assert api_as(admin_user, "write").post("/tags/", {"name": "Shared tag"}).status_code == 201
    assert api_as(admin_user, "customers:read").get("/tags/").json()["count"] == 3


def test_tags_need_authentication(vip: Tag) -> None:
    response = Client().get("/api/v1/tags/")

    assert_problem(response, 401)


def test_openapi_describes_tags_on_records_the_filter_and_the_tags_resource(db: Any) -> None:
    schema = Client().get("/api/v1/openapi.json").json()

    assert set(schema["paths"]["/api/v1/tags/"]) == {"get", "post"}
    assert set(schema["paths"]["/api/v1/tags/{pk}/"]) == {"get", "patch", "delete"}
    customer = schema["components"]["schemas"]["CustomerOut"]["properties"]
    assert customer["tags"]["type"] == "array"
    assert "tags" in schema["components"]["schemas"]["ContactPatch"]["properties"]
    parameters = {p["name"] for p in schema["paths"]["/api/v1/customers/"]["get"]["parameters"]}
    assert {"tags", "tags_match"} <= parameters


def test_nul_characters_in_tag_queries_answer_422_on_every_database(rep: Any, api_as: Any, vip: Tag) -> None:
    api = api_as(rep)

    assert error_fields(assert_problem(api.get("/tags/", {"q": "a\x00b"}), 422)) == {"q"}
    assert error_fields(assert_problem(api.get("/customers/", {"tags": "VIP\x00"}), 422)) == {"tags"}
    assert error_fields(assert_problem(api.post("/tags/", {"name": "a\x00b"}), 422)) == {"name"}
