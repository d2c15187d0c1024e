"""GET /api/v1/search/: groups by record type with counts and items, row-level visibility,
token scopes, and problem+json for bad input."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.support import assert_problem, error_fields

pytestmark = pytest.mark.django_db(transaction=True)  # the index follows commits


def test_search_answers_groups_with_counts_and_items(
    rep: Any, api_as: Any, make_customer: Any, make_contact: Any
) -> None:
    firm = make_customer(rep, name="张三科技", notes="Likes green tea")
    contact = make_contact(rep, firm, name="张三")

    response = api_as(rep, "read").get("/search/", {"q": "zhangsan"})

    assert response.status_code == 200, response.content
    assert response.json() == {
        "q": "zhangsan",
        "groups": [
            {
                "type": "customer",
                "label": "customers",
                "count": 1,
                "capped": False,
                "items": [
                    {
                        "id": firm.pk,
                        "number": firm.number,
                        "title": "张三科技",
                        "url": f"/customers/{firm.pk}/",
                        "snippet": "Likes green tea",
                    }
                ],
            },
            {
                "type": "contact",
                "label": "contacts",
                "count": 1,
                "capped": False,
                "items": [
                    {
                        "id": contact.pk,
                        "number": contact.number,
                        "title": "张三",
                        "url": f"/contacts/{contact.pk}/",
                        "snippet": "张三科技",
                    }
                ],
            },
        ],
    }


def test_phone_in_another_format_and_two_chinese_characters_are_found(
    rep: Any, api_as: Any, make_customer: Any
) -> None:
    make_customer(rep, name="浙江天行科技有限公司", phone="+8613812345678")
    api = api_as(rep, "read")

    for q in ["138 1234 5678", "天行", "zs", "tianxing"]:
        body = api.get("/search/", {"q": q}).json()
        titles = [item["title"] for group in body["groups"] for item in group["items"]]
        assert titles == (["浙江天行科技有限公司"] if q != "zs" else []), q


def test_sales_user_never_sees_another_teams_records(rep: Any, other_rep: Any, api_as: Any, make_customer: Any) -> None:
    make_customer(rep, name="Acme East")
    make_customer(other_rep, name="Acme South", phone="+8613812345678")
    api = api_as(rep, "read")

    body = api.get("/search/", {"q": "acme"}).json()
    assert [(g["type"], g["count"], [i["title"] for i in g["items"]]) for g in body["groups"]] == [
        ("customer", 1, ["Acme East"])
    ]
    assert api.get("/search/", {"q": "+86 138 1234 5678"}).json()["groups"] == []


def test_type_and_limit_narrow_the_answer(rep: Any, api_as: Any, make_customer: Any, make_contact: Any) -> None:
    firms = [make_customer(rep, name=f"Acme {i}") for i in range(3)]
    make_contact(rep, firms[0], name="Acme buyer")

    body = api_as(rep, "read").get("/search/", {"q": "acme", "type": "customer", "limit": 2}).json()

    [group] = body["groups"]
    assert (group["type"], group["count"], len(group["items"])) == ("customer", 3, 2)


def test_session_of_a_logged_in_user_may_search(rep: Any, make_customer: Any) -> None:
    from django.test import Client

    make_customer(rep, name="Acme")
    client = Client()
    client.force_login(rep)

    response = client.get("/api/v1/search/", {"q": "acme"})

    assert response.status_code == 200
    assert response.json()["groups"][0]["items"][0]["title"] == "Acme"


def test_token_for_other_areas_cannot_search_these_types(rep: Any, issue_token: Any, make_customer: Any) -> None:
    from tests.api.support import ApiClient

    make_customer(rep, name="Acme")
    token, raw = issue_token(rep, "customers:read")
    assert ApiClient(raw).get("/search/", {"q": "acme"}).status_code == 200
    token.scopes = ["warehouse:read"]  # a token for an area that holds neither customers nor contacts
    token.save(update_fields=["scopes"])

    assert_problem(ApiClient(raw).get("/search/", {"q": "acme"}), 403)
    assert_problem(ApiClient(raw).get("/search/", {"q": "acme", "type": "customer"}), 403)


def test_without_a_token_the_answer_is_401() -> None:
    from tests.api.support import ApiClient

    assert_problem(ApiClient().get("/search/", {"q": "acme"}), 401)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"q": "acme\x00"}, "q"),
        ({"q": "acme", "type": "planet"}, "type"),
        ({"q": "acme", "limit": 0}, "limit"),
        ({"q": "acme", "limit": 51}, "limit"),
        ({"q": "acme", "limit": "many"}, "limit"),
    ],
)
def test_bad_input_answers_422_naming_the_field(rep: Any, api_as: Any, params: dict[str, Any], field: str) -> None:
    body = assert_problem(api_as(rep, "read").get("/search/", params), 422)
    assert error_fields(body) == {field}


def test_search_is_described_in_the_openapi_document(rep: Any, api_as: Any) -> None:
    document = api_as(rep, "read").get("/openapi.json").json()
    operation = document["paths"]["/api/v1/search/"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"q", "type", "limit"}


def test_list_q_finds_what_the_global_search_finds(api_as: Any, rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="张三贸易")
    make_customer(rep, name="李四物流")

    body = api_as(rep, "read").get("/customers/", {"q": "zs"}).json()

    assert [item["name"] for item in body["items"]] == ["张三贸易"]
