"""``Idempotency-Key`` on POST: a retried create makes one record and answers the same."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from kehu.customers.models import Customer
from kehu.platform.models import IdempotencyKey
from tests.api.support import ApiClient, assert_problem, audit_count


def test_same_key_and_body_twice_creates_one_record_and_replays_the_answer(
    rep: Any, api_as: Any, resource: Any
) -> None:
    api = api_as(rep)
    body = resource.payload(rep, name="Once Only")
    before = resource.model.all_objects.count()

    first = api.post(resource.url(), body, **{"Idempotency-Key": "order-42"})
    entries = audit_count()
    second = api.post(resource.url(), body, **{"Idempotency-Key": "order-42"})

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert resource.model.all_objects.count() == before + 1
    assert resource.model.objects.filter(name="Once Only").count() == 1
    assert audit_count() == entries


def test_same_key_with_a_different_body_answers_422_and_creates_nothing(rep: Any, api_as: Any) -> None:
    api = api_as(rep)
    first = api.post("/customers/", {"name": "First"}, **{"Idempotency-Key": "k-1"})

    response = api.post("/customers/", {"name": "Second"}, **{"Idempotency-Key": "k-1"})

    body = assert_problem(response, 422)
    assert [error["field"] for error in body["errors"]] == ["Idempotency-Key"]
    assert list(Customer.all_objects.values_list("pk", "name")) == [(first.json()["id"], "First")]


def test_same_key_on_another_resource_is_a_different_request(rep: Any, api_as: Any, make_customer: Any) -> None:
    api = api_as(rep)
    customer = make_customer(rep)
    assert api.post("/customers/", {"name": "Acme"}, **{"Idempotency-Key": "shared"}).status_code == 201

    response = api.post("/contacts/", {"name": "Acme", "customer": customer.pk}, **{"Idempotency-Key": "shared"})

    assert_problem(response, 422)


def test_different_users_with_the_same_key_do_not_collide(rep: Any, other_rep: Any, api_as: Any) -> None:
    body = {"name": "Same Name"}

    mine = api_as(rep).post("/customers/", body, **{"Idempotency-Key": "retry-1"})
    theirs = api_as(other_rep).post("/customers/", body, **{"Idempotency-Key": "retry-1"})

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert "Idempotent-Replayed" not in theirs
    assert (mine.json()["owner"], theirs.json()["owner"]) == (rep.pk, other_rep.pk)
    assert Customer.objects.filter(name="Same Name").count() == 2


def test_the_same_user_gets_the_replay_through_another_token(rep: Any, issue_token: Any) -> None:
    """Keys belong to the user, not to one token: a client that rotated its token still gets the replay."""
    first = ApiClient(issue_token(rep)[1]).post("/customers/", {"name": "Acme"}, **{"Idempotency-Key": "rot"})

    second = ApiClient(issue_token(rep)[1]).post("/customers/", {"name": "Acme"}, **{"Idempotency-Key": "rot"})

    assert second.json()["id"] == first.json()["id"]
    assert Customer.objects.count() == 1


def test_a_refused_request_does_not_use_up_its_key(rep: Any, api_as: Any) -> None:
    api = api_as(rep)

    refused = api.post("/customers/", {"name": "Acme", "phone": "12"}, **{"Idempotency-Key": "fix-and-retry"})
    fixed = api.post("/customers/", {"name": "Acme", "phone": "13800138000"}, **{"Idempotency-Key": "fix-and-retry"})

    assert_problem(refused, 422)
    assert fixed.status_code == 201, fixed.content
    assert "Idempotent-Replayed" not in fixed
    assert Customer.objects.get().phone == "+8613800138000"


def test_a_forbidden_request_does_not_store_its_key(rep: Any, api_as: Any) -> None:
    assert_problem(api_as(rep, "read").post("/customers/", {"name": "Acme"}, **{"Idempotency-Key": "nope"}), 403)

    assert not IdempotencyKey.objects.filter(user=rep).exists()
    assert not Customer.all_objects.exists()


def test_posts_without_a_key_are_not_deduplicated(rep: Any, api_as: Any) -> None:
    api = api_as(rep)

    first = api.post("/customers/", {"name": "Twin"})
    second = api.post("/customers/", {"name": "Twin"})

    assert first.json()["id"] != second.json()["id"]
    assert Customer.objects.filter(name="Twin").count() == 2
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_parallel_retries_with_the_same_key_create_one_record(rep: Any, issue_token: Any) -> None:
    """Two copies of one POST racing each other: one creates, the other gets the same answer."""
    _token, raw = issue_token(rep)
    barrier = threading.Barrier(2)
    answers: list[Any] = []

    def send() -> None:
        api = ApiClient(raw)
        barrier.wait()
        try:
            answers.append(api.post("/customers/", {"name": "Raced"}, **{"Idempotency-Key": "race"}))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [answer.status_code for answer in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert Customer.objects.filter(name="Raced").count() == 1
    assert IdempotencyKey.objects.filter(user=rep, key="race").count() == 1


def test_stored_fingerprint_is_keyed_and_survives_a_key_rotation(rep: Any, api_as: Any, key_dir: Any) -> None:
    import hashlib

    from kehu.platform import crypto

    api = api_as(rep)
    body = {"name": "Keyed", "phone": "+8613812345678"}
    first = api.post("/customers/", body, **{"Idempotency-Key": "rotate-me"})
    stored = IdempotencyKey.objects.get(key="rotate-me").fingerprint
    assert "+8613812345678" not in stored
    assert len(stored) == crypto.INDEX_LENGTH  # an HMAC, not a plain hash anyone can recompute
    assert stored != hashlib.sha256(b"anything").hexdigest()

    old_secret = (key_dir / crypto.KEY_FILE).read_text().strip()
    (key_dir / crypto.OLD_KEYS_FILE).write_text(old_secret + "\n")
    (key_dir / crypto.KEY_FILE).write_text(crypto.generate_key() + "\n")
    crypto.keyring(refresh=True)

    replay = api.post("/customers/", body, **{"Idempotency-Key": "rotate-me"})
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
