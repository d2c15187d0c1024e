"""Who may call the API: token scopes, roles, expired/revoked/missing tokens, and the browser
session with its CSRF check."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from kehu.accounts.models import ApiToken
from kehu.accounts.services import token_revoke
from kehu.customers.models import Contact, Customer
from kehu.platform.context import Context, Source
from tests.api.support import ApiClient, assert_problem, audit_count

# ---------------------------------------------------------------- scopes and roles


def _try_every_write(api: ApiClient, resource: Any, body: dict[str, Any], record: Any) -> list[Any]:
    return [
        api.post(resource.url(), body),
        api.patch(resource.url(record.pk), {"name": "Changed"}),
        api.delete(resource.url(record.pk)),
    ]


def _rows() -> tuple[int, int]:
    return Customer.all_objects.count(), Contact.all_objects.count()


def _assert_untouched(resource: Any, record: Any, rows: tuple[int, int], entries: int) -> None:
    assert _rows() == rows
    stored = resource.row(record.pk)
    assert (stored.name, stored.version, stored.deleted_at) == ("Untouched", 1, None)
    assert audit_count() == entries


def test_read_token_can_list_and_get(rep: Any, api_as: Any, resource: Any) -> None:
    api = api_as(rep, "read")
    record = resource.make(rep, name="Readable")

    assert api.get(resource.url()).json()["count"] == 1
    assert api.get(resource.url(record.pk)).json()["name"] == "Readable"


def test_read_token_cannot_create_patch_or_delete(rep: Any, api_as: Any, resource: Any) -> None:
    api = api_as(rep, "read")
    record = resource.make(rep, name="Untouched")
    body = resource.payload(rep, name="Should not exist")
    rows, entries = _rows(), audit_count()

    responses = _try_every_write(api, resource, body, record)

    for response in responses:
        assert_problem(response, 403)
    _assert_untouched(resource, record, rows, entries)


def test_area_read_token_reads_but_cannot_write(rep: Any, api_as: Any, resource: Any) -> None:
    api = api_as(rep, "customers:read")
    record = resource.make(rep, name="Untouched")
    body = resource.payload(rep, name="Should not exist")
    rows, entries = _rows(), audit_count()

    assert api.get(resource.url(record.pk)).status_code == 200
    assert api.get(resource.url()).json()["count"] == 1
    for response in _try_every_write(api, resource, body, record):
        assert_problem(response, 403)
    _assert_untouched(resource, record, rows, entries)


def test_area_write_token_can_write_in_its_area(rep: Any, api_as: Any, resource: Any) -> None:
    api = api_as(rep, "customers:write")
    record = resource.make(rep)

    created = api.post(resource.url(), resource.payload(rep, name="Made"))
    patched = api.patch(resource.url(record.pk), {"name": "Patched"})
    deleted = api.delete(resource.url(created.json()["id"]))

    assert (created.status_code, patched.status_code, deleted.status_code) == (201, 200, 204)
    assert resource.row(record.pk).name == "Patched"
    assert resource.row(created.json()["id"]).deleted_at is not None


def test_a_scope_for_an_unknown_area_or_level_cannot_be_issued(rep: Any, issue_token: Any) -> None:
    with pytest.raises(ValidationError):
        issue_token(rep, "galaxy:read")
    with pytest.raises(ValidationError):
        issue_token(rep, "customers:admin")
    assert not ApiToken.objects.filter(user=rep).exists()


def test_read_only_role_with_a_write_token_still_cannot_write(
    reader: Any, rep: Any, api_as: Any, resource: Any
) -> None:
    record = resource.make(rep, name="Untouched")
    body = resource.payload(rep, name="Should not exist")  # a contact's customer is one the reader can see
    api = api_as(reader, "write")
    rows, entries = _rows(), audit_count()

    assert api.get(resource.url(record.pk)).status_code == 200  # the role reads everything
    for response in _try_every_write(api, resource, body, record):
        assert_problem(response, 403)
    _assert_untouched(resource, record, rows, entries)


def test_forbidden_answer_says_what_was_refused(reader: Any, api_as: Any) -> None:
    body = assert_problem(api_as(reader).post("/customers/", {"name": "Nope"}), 403)

    assert body["title"] == "Forbidden"
    assert "customers" in body["detail"]


# ---------------------------------------------------------------- bad, expired and revoked tokens


def _refused(response: Any) -> None:
    assert_problem(response, 401)
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Bearer garbage", "Bearer kehu_garbage", "Token kehu_x", "Basic dXNlcjpwYXNz"],
)
def test_missing_or_garbage_token_answers_401_problem(db: Any, authorization: str | None) -> None:
    api = ApiClient(None)
    headers = {} if authorization is None else {"Authorization": authorization}

    _refused(api.get("/customers/", **headers))
    _refused(api.post("/customers/", {"name": "Sneaky"}, **headers))
    _refused(api.patch("/customers/1/", {"name": "Sneaky"}, **headers))
    _refused(api.delete("/customers/1/", **headers))
    assert not Customer.all_objects.exists()


def test_expired_token_answers_401_for_reads_and_writes(rep: Any, issue_token: Any, make_customer: Any) -> None:
    token, raw = issue_token(rep, "write", expires_days=1)
    customer = make_customer(rep, name="Untouched")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    api = ApiClient(raw)

    _refused(api.get("/customers/"))
    _refused(api.get(f"/customers/{customer.pk}/"))
    _refused(api.post("/customers/", {"name": "Sneaky"}))
    _refused(api.patch(f"/customers/{customer.pk}/", {"name": "Sneaky"}))
    _refused(api.delete(f"/customers/{customer.pk}/"))
    assert list(Customer.all_objects.values_list("name", "deleted_at")) == [("Untouched", None)]


def test_token_works_until_it_expires(rep: Any, issue_token: Any) -> None:
    _token, raw = issue_token(rep, "read", expires_days=1)

    assert ApiClient(raw).get("/customers/").status_code == 200


def test_revoked_token_answers_401(rep: Any, issue_token: Any, make_customer: Any) -> None:
    token, raw = issue_token(rep, "write")
    customer = make_customer(rep, name="Untouched")
    api = ApiClient(raw)
    assert api.get("/customers/").status_code == 200

    token_revoke(ctx=Context(user=rep, source=Source.CLI), token=token)

    _refused(api.get("/customers/"))
    _refused(api.post("/customers/", {"name": "Sneaky"}))
    _refused(api.patch(f"/customers/{customer.pk}/", {"name": "Sneaky"}))
    _refused(api.delete(f"/customers/{customer.pk}/"))
    assert list(Customer.all_objects.values_list("name", "deleted_at")) == [("Untouched", None)]


def test_token_of_a_deactivated_user_answers_401(rep: Any, issue_token: Any) -> None:
    _token, raw = issue_token(rep, "write")
    rep.is_active = False
    rep.save(update_fields=["is_active"])

    _refused(ApiClient(raw).get("/customers/"))
    _refused(ApiClient(raw).post("/customers/", {"name": "Sneaky"}))
    assert not Customer.all_objects.exists()


def test_using_a_token_records_when_it_was_last_used(rep: Any, issue_token: Any) -> None:
    token, raw = issue_token(rep, "read")
    assert token.last_used_at is None
    before = timezone.now()

    assert ApiClient(raw).get("/customers/").status_code == 200

    token.refresh_from_db()
    assert token.last_used_at is not None
    assert before <= token.last_used_at <= timezone.now()


def test_a_refused_token_does_not_record_a_use(rep: Any, issue_token: Any) -> None:
    token, raw = issue_token(rep, "read")
    token_revoke(ctx=Context(user=rep, source=Source.CLI), token=token)

    ApiClient(raw).get("/customers/")

    token.refresh_from_db()
    assert token.last_used_at is None


def test_stale_last_used_time_is_refreshed_on_the_next_use(rep: Any, issue_token: Any) -> None:
    token, raw = issue_token(rep, "read")
    long_ago = timezone.now() - datetime.timedelta(days=3)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=long_ago)

    ApiClient(raw).get("/customers/")

    token.refresh_from_db()
    assert token.last_used_at > long_ago + datetime.timedelta(days=2)


# ---------------------------------------------------------------- the browser session


def test_logged_in_session_can_read_the_api(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Session Co")
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)

    listed = ApiClient(client=client).get("/customers/")
    got = ApiClient(client=client).get(f"/customers/{customer.pk}/")

    assert listed.status_code == 200
    assert [item["name"] for item in listed.json()["items"]] == ["Session Co"]
    assert got.json()["id"] == customer.pk


def test_session_write_without_csrf_token_is_refused_with_403(rep: Any, make_customer: Any) -> None:
    """The session is a browser's credential, so writes with it need Django's CSRF token
    (django-ninja's SessionAuth checks it); a token-authenticated client needs none."""
    customer = make_customer(rep, name="Untouched")
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    api = ApiClient(client=client)
    entries = audit_count()

    created = api.post("/customers/", {"name": "Forged"})
    patched = api.patch(f"/customers/{customer.pk}/", {"name": "Forged"})
    deleted = api.delete(f"/customers/{customer.pk}/")

    for response in (created, patched, deleted):
        assert "CSRF" in assert_problem(response, 403)["detail"]
    assert list(Customer.all_objects.values_list("name", "deleted_at")) == [("Untouched", None)]
    assert audit_count() == entries


def test_session_write_with_csrf_token_is_accepted(rep: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    secret = "a" * 32
    client.cookies["csrftoken"] = secret

    response = ApiClient(client=client).post("/customers/", {"name": "Browser Co"}, **{"X-CSRFToken": secret})

    assert response.status_code == 201, response.content
    assert Customer.objects.get(pk=response.json()["id"]).owner_id == rep.pk


def test_bearer_token_writes_need_no_csrf_token(rep: Any, api_as: Any) -> None:
    api = api_as(rep)

    assert api.client.handler.enforce_csrf_checks is True
    assert api.post("/customers/", {"name": "No CSRF needed"}).status_code == 201
