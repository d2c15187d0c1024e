"""The review queue pages: list, pair, merge, not duplicates, bulk merge, scan, undo."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from kehu.customers.models import Contact, Customer
from kehu.dataio.dedupe import finder
from kehu.dataio.dedupe.models import CandidateStatus, DuplicateCandidate, Merge

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def duo(rep: Any, make_customer: Any, make_contact: Any) -> tuple[Any, Any]:
    first = make_customer(rep, name="上海晨光科技有限公司", city="上海")
    second = make_customer(rep, name="上海晨光科技", city="上海", phone="13800138000", industry="Software")
    make_contact(rep, second, name="李雷")
    finder.scan("customer")
    return first, second


def test_queue_lists_pairs_with_reasons(rep: Any, duo: tuple[Any, Any], django_assert_max_num_queries: Any) -> None:
    client = client_for(rep)
    with django_assert_max_num_queries(40):
        response = client.get("/duplicates/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "上海晨光科技有限公司" in html
    assert "Same name" in html
    assert client.get("/duplicates/?type=contact").content.decode().count('data-pair="') == 0


def test_other_team_sees_no_pairs_and_gets_404_for_the_pair(other_rep: Any, duo: tuple[Any, Any]) -> None:
    client = client_for(other_rep)
    assert 'data-pair="' not in client.get("/duplicates/").content.decode()
    pair = DuplicateCandidate.objects.get()
    assert client.get(f"/duplicates/{pair.pk}/").status_code == 404
    assert client.post(f"/duplicates/{pair.pk}/", {"action": "merge", "survivor": "left"}).status_code == 404


def test_pair_page_shows_both_records_and_the_counts(rep: Any, duo: tuple[Any, Any]) -> None:
    pair = DuplicateCandidate.objects.get()
    html = client_for(rep).get(f"/duplicates/{pair.pk}/").content.decode()
    assert 'data-field="phone"' in html
    assert 'data-field="industry"' in html
    assert "Contacts: 1" in html


def test_merge_from_the_pair_page_with_a_field_picked(rep: Any, duo: tuple[Any, Any]) -> None:
    first, second = duo
    pair = DuplicateCandidate.objects.get()
    response = client_for(rep).post(
        f"/duplicates/{pair.pk}/",
        {"action": "merge", "survivor": "left", "pick-name": "right", "pick-phone": "right", "pick-industry": "left"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{first.pk}/"
    survivor = Customer.objects.get(pk=first.pk)
    assert (survivor.name, survivor.phone, survivor.industry) == ("上海晨光科技", "+8613800138000", "")
    assert Contact.objects.get().customer_id == first.pk
    assert Customer.all_objects.get(pk=second.pk).is_deleted


def test_not_duplicates(rep: Any, duo: tuple[Any, Any]) -> None:
    pair = DuplicateCandidate.objects.get()
    response = client_for(rep).post(f"/duplicates/{pair.pk}/", {"action": "dismiss"})
    assert response.status_code == 302
    pair.refresh_from_db()
    assert pair.status == CandidateStatus.DISMISSED


def test_reader_sees_the_queue_but_cannot_merge(reader: Any, duo: tuple[Any, Any]) -> None:
    client = client_for(reader)
    pair = DuplicateCandidate.objects.get()
    html = client.get(f"/duplicates/{pair.pk}/").content.decode()
    assert 'data-testid="merge"' not in html
    client.post(f"/duplicates/{pair.pk}/", {"action": "merge", "survivor": "left"})
    assert not Merge.objects.exists()
    assert client.post("/duplicates/scan/").status_code == 403


def test_bulk_merge_and_undo(rep: Any, duo: tuple[Any, Any]) -> None:
    first, second = duo
    pair = DuplicateCandidate.objects.get()
    client = client_for(rep)
    assert client.post("/duplicates/merge/", {"ids": [pair.pk]}).status_code == 302
    merge = Merge.objects.get()
    assert (merge.survivor_id, merge.loser_id) == (first.pk, second.pk)
    assert Customer.objects.get(pk=first.pk).industry == "Software"  # blank: filled from the other
    assert 'data-testid="merge-list"' in client.get("/duplicates/").content.decode()
    assert client.post(f"/duplicates/merges/{merge.pk}/undo/").status_code == 302
    assert Contact.objects.get().customer_id == second.pk


def test_scan_now_runs_the_finder(rep: Any, make_customer: Any, django_capture_on_commit_callbacks: Any) -> None:
    make_customer(rep, name="Beta", email="b@example.com")
    make_customer(rep, name="Gamma", email="b@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(rep).post("/duplicates/scan/").status_code == 302
    assert DuplicateCandidate.objects.count() == 1


def test_the_data_menu_links_the_queue(rep: Any) -> None:
    assert 'href="/duplicates/"' in client_for(rep).get("/").content.decode()


def test_get_is_not_allowed_on_actions(rep: Any) -> None:
    client = client_for(rep)
    assert client.get("/duplicates/scan/").status_code == 405
    assert client.get("/duplicates/merge/").status_code == 405
