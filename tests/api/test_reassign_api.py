"""POST /api/v1/customers/reassign/: many customers to a new owner in one request."""

from __future__ import annotations

import time
from typing import Any

import pytest

from kehu.customers.models import Contact, Customer
from kehu.customers.reassign import MAX_IDS
from tests.api.support import assert_problem, error_fields
from tests.customers.reassign_support import many_customers, reassign_entries, ref

pytestmark = pytest.mark.django_db

URL = "/customers/reassign/"


def test_a_thousand_customers_are_reassigned_in_one_request(
    api_as: Any,
    manager: Any,
    rep: Any,
    other_rep: Any,
    east: Any,
    south: Any,
    make_customer: Any,
    make_contact: Any,
    django_assert_max_num_queries: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    customers = many_customers(make_customer, make_contact, rep, 1000)
    ids = [customer.pk for customer in customers]
    api = api_as(manager)

    started = time.perf_counter()
    with django_assert_max_num_queries(90) as queries, django_capture_on_commit_callbacks(execute=True):
        response = api.post(URL, {"ids": ids, "owner": other_rep.pk})
    print(
        f"\nPOST {URL} with 1,000 ids: {time.perf_counter() - started:.2f} s, {len(queries.captured_queries)} queries"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["reassigned"] == 1000
    assert (body["unchanged"], body["skipped"], body["owner"], body["team"]) == (0, 0, other_rep.pk, south.pk)
    assert isinstance(body["related"], dict)
    assert set(Customer.objects.filter(pk__in=ids).values_list("owner_id", "team_id")) == {(other_rep.pk, south.pk)}
    assert set(Contact.objects.filter(customer_id__in=ids).values_list("owner_id", flat=True)) == {other_rep.pk}
    entries = reassign_entries()
    assert entries.count() == 1000
    entry = entries.get(object_id=ids[-1])
    assert entry.source == "api"
    assert entry.token  # the token's prefix
    assert entry.changes == {"owner": [ref(rep), ref(other_rep)], "team": [ref(east), ref(south)]}


def test_reassign_is_not_mistaken_for_a_customer_id(api_as: Any, manager: Any, rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")
    api = api_as(manager)

    assert api.get(URL).status_code == 405  # only POST here; never "customer 'reassign'"
    assert api.get(f"/customers/{customer.pk}/").json()["name"] == "Acme"
    assert api.patch(f"/customers/{customer.pk}/", {"name": "Acme Ltd"}).status_code == 200
    response = api.post(URL, {"ids": [customer.pk], "owner": rep.pk, "team": None})
    assert response.status_code == 200
    assert response.json()["unchanged"] == 1


def test_sales_rep_gets_403_problem(api_as: Any, rep: Any, teammate: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")

    body = assert_problem(api_as(rep).post(URL, {"ids": [customer.pk], "owner": teammate.pk}), 403)

    assert "reassign" in body["detail"]
    assert Customer.objects.get(pk=customer.pk).owner == rep


def test_read_token_gets_403_problem(api_as: Any, manager: Any, rep: Any, other_rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")

    assert_problem(api_as(manager, "read").post(URL, {"ids": [customer.pk], "owner": other_rep.pk}), 403)


def test_without_a_token_401(rep: Any, other_rep: Any) -> None:
    from tests.api.support import ApiClient

    assert_problem(ApiClient().post(URL, {"ids": [1], "owner": other_rep.pk}), 401)


def test_inactive_owner_is_422(api_as: Any, manager: Any, rep: Any, other_rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")
    other_rep.is_active = False
    other_rep.save()

    body = assert_problem(api_as(manager).post(URL, {"ids": [customer.pk], "owner": other_rep.pk}), 422)

    assert error_fields(body) == {"owner"}
    assert Customer.objects.get(pk=customer.pk).owner == rep


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"ids": [1], "owner": 999_999}, "owner"),
        ({"ids": [1], "owner": "x"}, "owner"),
        ({"ids": [1]}, "owner"),
        ({"ids": [1], "owner": "OWNER", "team": 999_999}, "team"),
        ({"ids": [], "owner": "OWNER"}, "ids"),
        ({"ids": ["a"], "owner": "OWNER"}, "ids.0"),
        ({"owner": "OWNER"}, "ids"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    api_as: Any, manager: Any, other_rep: Any, payload: dict[str, Any], field: str
) -> None:
    payload = {name: other_rep.pk if value == "OWNER" else value for name, value in payload.items()}

    body = assert_problem(api_as(manager).post(URL, payload), 422)

    assert field in error_fields(body)


def test_more_than_the_limit_is_refused_with_422(api_as: Any, manager: Any, other_rep: Any) -> None:
    body = assert_problem(api_as(manager).post(URL, {"ids": list(range(1, MAX_IDS + 2)), "owner": other_rep.pk}), 422)

    assert "ids" in error_fields(body)
    assert not reassign_entries().exists()


def test_customers_the_manager_cannot_see_are_skipped(
    api_as: Any, make_user: Any, rep: Any, other_rep: Any, teammate: Any, make_customer: Any
) -> None:
    east_manager = make_user("east_boss", "manager", "East sales")
    ours = make_customer(rep, name="Ours")
    theirs = make_customer(other_rep, name="Theirs")

    response = api_as(east_manager).post(URL, {"ids": [ours.pk, theirs.pk], "owner": teammate.pk})

    assert response.status_code == 200
    assert (response.json()["reassigned"], response.json()["skipped"]) == (1, 1)
    assert Customer.objects.get(pk=theirs.pk).owner == other_rep


def test_include_related_false_moves_no_related_records(
    api_as: Any, manager: Any, rep: Any, other_rep: Any, make_customer: Any
) -> None:
    customer = make_customer(rep, name="Acme")

    response = api_as(manager).post(URL, {"ids": [customer.pk], "owner": other_rep.pk, "include_related": False})

    assert response.status_code == 200
    assert response.json()["related"] == {}


def test_the_endpoint_is_in_the_openapi_document(api_as: Any, manager: Any) -> None:
    document = api_as(manager).get("/openapi.json").json()

    operation = document["paths"]["/api/v1/customers/reassign/"]["post"]
    assert operation["operationId"] == "customer_reassign"
    assert "/api/v1/customers/{pk}/" in document["paths"]
