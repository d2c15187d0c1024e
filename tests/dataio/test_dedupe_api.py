"""/api/v1/duplicates/ and /api/v1/merges/: list, scan, merge, dismiss, undo — and who may not."""

# ruff: noqa: F811  (fixtures imported from the support modules)
from __future__ import annotations

from typing import Any

import pytest

from kehu.customers.models import Contact, Customer
from kehu.dataio.dedupe import finder
from kehu.dataio.dedupe.models import CandidateStatus, DuplicateCandidate, Merge
from tests.api.conftest import api_as, issue_token  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def duo(rep: Any, make_customer: Any, make_contact: Any) -> tuple[Any, Any]:
    first = make_customer(rep, name="Acme Trading", email="buy@acme.example")
    second = make_customer(rep, name="Acme Trading Ltd", email="buy@acme.example", city="Wuxi")
    make_contact(rep, second, name="Li Lei")
    finder.scan("customer")
    return first, second


def test_list_shows_pairs_with_both_records(api_as: Any, rep: Any, duo: tuple[Any, Any]) -> None:
    response = api_as(rep, "read").get("/duplicates/", {"record_type": "customer"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    item = body["items"][0]
    assert {item["left"]["id"], item["right"]["id"]} == {duo[0].pk, duo[1].pk}
    assert "same_email" in {reason["code"] for reason in item["reasons"]}


def test_other_team_does_not_see_the_pair(api_as: Any, other_rep: Any, duo: tuple[Any, Any]) -> None:
    assert api_as(other_rep, "read").get("/duplicates/").json()["count"] == 0
    pair = DuplicateCandidate.objects.get()
    assert api_as(other_rep).post(f"/duplicates/{pair.pk}/merge/", {}).status_code == 404
    assert api_as(other_rep).post(f"/duplicates/{pair.pk}/dismiss/", {}).status_code == 404


def test_merge_then_undo(api_as: Any, rep: Any, duo: tuple[Any, Any]) -> None:
    first, second = duo
    pair = DuplicateCandidate.objects.get()
    client = api_as(rep)
    response = client.post(f"/duplicates/{pair.pk}/merge/", {"survivor": first.pk, "choices": {"name": "loser"}})
    assert response.status_code == 200, response.content
    merge = response.json()
    assert merge["survivor"] == first.pk
    survivor = Customer.objects.get(pk=first.pk)
    assert (survivor.name, survivor.city) == ("Acme Trading Ltd", "Wuxi")
    assert Contact.objects.get().customer_id == first.pk

    again = client.post(f"/duplicates/{pair.pk}/merge/", {})
    assert again.status_code == 404  # the merged record is in the trash: the pair is gone from the queue

    undone = client.post(f"/merges/{merge['id']}/undo/", {})
    assert undone.status_code == 200, undone.content
    assert undone.json()["undone_at"]
    assert Contact.objects.get().customer_id == second.pk
    assert Customer.objects.get(pk=first.pk).name == "Acme Trading"


def test_merge_with_a_bad_choice_is_422(api_as: Any, rep: Any, duo: tuple[Any, Any]) -> None:
    pair = DuplicateCandidate.objects.get()
    response = api_as(rep).post(f"/duplicates/{pair.pk}/merge/", {"choices": {"city": "both"}})
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    assert not Merge.objects.exists()


def test_read_only_token_cannot_merge_or_scan(api_as: Any, rep: Any, duo: tuple[Any, Any]) -> None:
    pair = DuplicateCandidate.objects.get()
    client = api_as(rep, "read")
    assert client.post(f"/duplicates/{pair.pk}/merge/", {}).status_code == 403
    assert client.post("/duplicates/scan/", {}).status_code == 403


def test_reader_cannot_dismiss(api_as: Any, reader: Any, duo: tuple[Any, Any]) -> None:
    pair = DuplicateCandidate.objects.get()
    assert api_as(reader).post(f"/duplicates/{pair.pk}/dismiss/", {}).status_code in (403, 404)
    pair.refresh_from_db()
    assert pair.status == CandidateStatus.OPEN


def test_dismiss(api_as: Any, rep: Any, duo: tuple[Any, Any]) -> None:
    pair = DuplicateCandidate.objects.get()
    response = api_as(rep).post(f"/duplicates/{pair.pk}/dismiss/", {})
    assert response.status_code == 200
    assert response.json()["status"] == "dismissed"


def test_scan_queues_the_finder(
    api_as: Any, rep: Any, make_customer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    make_customer(rep, name="Beta", phone="13800000001")
    make_customer(rep, name="Gamma", phone="13800000001")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(rep).post("/duplicates/scan/", {"record_types": ["customer"]})
    assert response.status_code == 202
    assert response.json() == {"queued": ["customer"]}
    assert DuplicateCandidate.objects.count() == 1


def test_scan_of_an_unknown_type_is_422(api_as: Any, rep: Any) -> None:
    assert api_as(rep).post("/duplicates/scan/", {"record_types": ["spaceship"]}).status_code == 422
