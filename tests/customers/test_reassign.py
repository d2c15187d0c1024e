"""Reassigning customers in one action (customers.reassign): permissions, visibility, the new
owner and team, audit, events, timeline, contacts and followers, all in bulk."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kehu.accounts.services import team_get_or_create, token_create
from kehu.customers import reassign
from kehu.customers.models import Contact, Customer
from kehu.customers.records import CUSTOMER
from kehu.platform import events
from kehu.platform import services as record_services
from kehu.platform.context import Context, Source
from kehu.platform.errors import StaleVersion
from kehu.platform.models import TimelineEntry
from tests.customers.reassign_support import many_customers, reassign_entries, ref

pytestmark = pytest.mark.django_db


def ctx(user: Any, **options: Any) -> Context:
    return Context(user=user, source=options.pop("source", Source.WEB), **options)


@pytest.fixture
def head(east: Any) -> Any:
    return east.parent


@pytest.fixture
def chief(make_user: Any, head: Any) -> Any:
    """A manager of Head office: sees East and South sales."""
    return make_user("chief", "manager", "Head office")


@pytest.fixture
def east_manager(make_user: Any, east: Any) -> Any:
    """A manager of East sales only."""
    return make_user("east_boss", "manager", "East sales")


@pytest.fixture
def teammate(make_user: Any, east: Any) -> Any:
    return make_user("mate", "sales", "East sales")


@pytest.fixture
def published() -> Iterator[list[events.Event]]:
    received: list[events.Event] = []
    events.subscribe("*")(received.append)
    yield received
    events.unsubscribe("*", received.append)


@pytest.fixture
def follower() -> Iterator[list[tuple[Any, ...]]]:
    """A follower that records its calls and says it moved one record per customer."""
    calls: list[tuple[Any, ...]] = []

    def follow(ctx: Context, customer_ids: list[int], owner: Any, team: Any) -> int:
        owners = set(Customer.objects.filter(pk__in=customer_ids).values_list("owner_id", flat=True))
        calls.append((ctx.user, list(customer_ids), owner, team, owners))
        return len(customer_ids)

    reassign.register_follower(follow, key="test_things")
    yield calls
    reassign._followers.pop("test_things")


# --- the acceptance: 1,000 customers in one go ----------------------------------------------


def test_reassigning_a_thousand_customers_is_bulk_and_audits_each_one(
    chief: Any,
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
    versions = dict(Customer.objects.values_list("pk", "version"))

    started = time.perf_counter()
    # Every query: the reassignment and what its events cause after commit (search index,
    # timeline), never one per customer.
    with django_assert_max_num_queries(80) as queries, django_capture_on_commit_callbacks(execute=True):
        result = reassign.customers_reassign(ctx(chief), ids, other_rep)
    elapsed = time.perf_counter() - started
    print(f"\nreassigned 1,000 customers in {elapsed:.2f} s, {len(queries.captured_queries)} queries")

    assert (result.reassigned, result.unchanged, result.skipped) == (1000, 0, 0)
    assert result.team == south
    stored = Customer.objects.filter(pk__in=ids)
    assert set(stored.values_list("owner_id", "team_id")) == {(other_rep.pk, south.pk)}
    assert all(version == versions[pk] + 1 for pk, version in stored.values_list("pk", "version"))
    assert set(stored.values_list("updated_by_id", flat=True)) == {chief.pk}
    contacts = Contact.objects.filter(customer_id__in=ids)
    assert contacts.count() == 1000
    assert set(contacts.values_list("owner_id", "team_id")) == {(other_rep.pk, south.pk)}
    entries = reassign_entries()
    assert entries.count() == 1000
    assert set(entries.values_list("object_id", flat=True)) == set(ids)
    entry = entries.get(object_id=ids[0])
    assert entry.actor == chief
    assert entry.changes == {"owner": [ref(rep), ref(other_rep)], "team": [ref(east), ref(south)]}
    assert TimelineEntry.objects.filter(kind="owner", subject_type="customer", subject_id__in=ids).count() == 1000


def test_each_reassigned_customer_publishes_one_update_event_after_commit(
    chief: Any,
    rep: Any,
    other_rep: Any,
    make_customer: Any,
    published: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    first, second = make_customer(rep, name="First"), make_customer(rep, name="Second")
    published.clear()

    with django_capture_on_commit_callbacks(execute=True):
        reassign.customers_reassign(ctx(chief, source=Source.API), [first.pk, second.pk], other_rep)

    updates = [event for event in published if event.type == "record.updated" and event.record_type == "customer"]
    assert sorted(event.record_id for event in updates) == sorted([first.pk, second.pk])
    assert all(event.data["changed"] == ["owner", "team"] for event in updates)
    assert all(event.actor_id == chief.pk and event.source == Source.API for event in updates)


def test_the_timeline_shows_who_had_the_customer_and_who_has_it_now(
    chief: Any, rep: Any, other_rep: Any, east: Any, south: Any, make_customer: Any
) -> None:
    customer = make_customer(rep, name="Acme")

    reassign.customers_reassign(ctx(chief), [customer.pk], other_rep)

    entry = TimelineEntry.objects.get(kind="owner", subject_type="customer", subject_id=customer.pk)
    assert entry.title == f"{rep} → {other_rep}"
    assert entry.summary == f"{east} → {south}"
    assert entry.actor == chief
    assert entry.data == {"owner": [rep.pk, other_rep.pk], "team": [east.pk, south.pk]}


# --- who may reassign what ------------------------------------------------------------------


def test_sales_rep_without_the_reassign_permission_is_refused(rep: Any, teammate: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")

    with pytest.raises(PermissionDenied):
        reassign.customers_reassign(ctx(rep), [customer.pk], teammate)

    assert Customer.objects.get(pk=customer.pk).owner == rep
    assert not reassign_entries().exists()


def test_read_only_user_is_refused(reader: Any, rep: Any, teammate: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")

    with pytest.raises(PermissionDenied):
        reassign.customers_reassign(ctx(reader), [customer.pk], teammate)


@pytest.mark.parametrize(
    ("scopes", "allowed"),
    [(["read"], False), (["customers:read"], False), (["write"], True), (["customers:write"], True)],
)
def test_through_a_token_the_scopes_decide(
    chief: Any, rep: Any, other_rep: Any, make_customer: Any, scopes: list[str], allowed: bool
) -> None:
    customer = make_customer(rep, name="Acme")
    token, _raw = token_create(ctx=ctx(chief, source=Source.CLI), user=chief, scopes=scopes)
    api_ctx = ctx(chief, source=Source.API, token=token)

    if allowed:
        assert reassign.customers_reassign(api_ctx, [customer.pk], other_rep).reassigned == 1
    else:
        with pytest.raises(PermissionDenied):
            reassign.customers_reassign(api_ctx, [customer.pk], other_rep)


def test_manager_cannot_reassign_customers_outside_their_visibility(
    east_manager: Any, rep: Any, other_rep: Any, teammate: Any, make_customer: Any
) -> None:
    ours = make_customer(rep, name="Ours")
    theirs = make_customer(other_rep, name="Theirs")  # South sales: not the East manager's

    result = reassign.customers_reassign(ctx(east_manager), [ours.pk, theirs.pk, 999_999, 0, -1, 2**80], teammate)

    assert (result.reassigned, result.skipped) == (1, 5)
    assert Customer.objects.get(pk=ours.pk).owner == teammate
    assert Customer.objects.get(pk=theirs.pk).owner == other_rep
    assert list(reassign_entries().values_list("object_id", flat=True)) == [ours.pk]


def test_customers_in_the_trash_are_skipped(chief: Any, rep: Any, other_rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Gone")
    record_services.record_delete(CUSTOMER, ctx=ctx(rep), obj=customer)

    result = reassign.customers_reassign(ctx(chief), [customer.pk], other_rep)

    assert (result.reassigned, result.skipped) == (0, 1)
    assert Customer.all_objects.get(pk=customer.pk).owner == rep


def test_customers_already_with_the_new_owner_and_team_are_left_alone(
    chief: Any, rep: Any, other_rep: Any, make_customer: Any
) -> None:
    already = make_customer(chief, name="Already", owner=other_rep)
    moving = make_customer(rep, name="Moving")
    version = Customer.objects.get(pk=already.pk).version

    result = reassign.customers_reassign(ctx(chief), [already.pk, moving.pk], other_rep)

    assert (result.reassigned, result.unchanged, result.skipped) == (1, 1, 0)
    assert Customer.objects.get(pk=already.pk).version == version
    assert list(reassign_entries().values_list("object_id", flat=True)) == [moving.pk]


# --- the new owner and team -----------------------------------------------------------------


def test_an_inactive_owner_is_refused(chief: Any, rep: Any, other_rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")
    other_rep.is_active = False
    other_rep.save()

    with pytest.raises(ValidationError) as raised:
        reassign.customers_reassign(ctx(chief), [customer.pk], other_rep)

    assert "owner" in raised.value.message_dict
    assert Customer.objects.get(pk=customer.pk).owner == rep


@pytest.mark.parametrize("owner", [999_999, "nobody", None])
def test_an_unknown_owner_is_refused(chief: Any, rep: Any, make_customer: Any, owner: Any) -> None:
    customer = make_customer(rep, name="Acme")

    with pytest.raises(ValidationError) as raised:
        reassign.customers_reassign(ctx(chief), [customer.pk], owner)

    assert "owner" in raised.value.message_dict


def test_an_unknown_team_is_refused(chief: Any, rep: Any, other_rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep, name="Acme")

    with pytest.raises(ValidationError) as raised:
        reassign.customers_reassign(ctx(chief), [customer.pk], other_rep, team=999_999)

    assert "team" in raised.value.message_dict


@pytest.mark.parametrize("ids", [[], ["abc"], [None]])
def test_bad_ids_are_refused(chief: Any, other_rep: Any, ids: list[Any]) -> None:
    with pytest.raises(ValidationError) as raised:
        reassign.customers_reassign(ctx(chief), ids, other_rep)

    assert "ids" in raised.value.message_dict


def test_an_explicit_team_wins_over_the_owners_team(
    chief: Any, rep: Any, other_rep: Any, make_customer: Any, make_contact: Any
) -> None:
    shanghai = team_get_or_create(name="Shanghai", parent=chief.team)
    customer = make_customer(rep, name="Acme")
    contact = make_contact(rep, customer)

    result = reassign.customers_reassign(ctx(chief), [str(customer.pk)], other_rep.pk, team=shanghai.pk)

    assert result.team == shanghai
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.owner, stored.team) == (other_rep, shanghai)
    contact.refresh_from_db()
    assert (contact.owner, contact.team) == (other_rep, shanghai)


def test_only_the_team_changing_is_audited_as_a_team_change(
    chief: Any, rep: Any, east: Any, south: Any, make_customer: Any
) -> None:
    customer = make_customer(rep, name="Acme")

    reassign.customers_reassign(ctx(chief), [customer.pk], rep, team=south)

    [entry] = reassign_entries()
    assert entry.changes == {"team": [ref(east), ref(south)]}


# --- concurrent edits -----------------------------------------------------------------------


def test_an_edit_holding_the_old_version_cannot_overwrite_the_new_owner(
    chief: Any, rep: Any, other_rep: Any, make_customer: Any
) -> None:
    customer = make_customer(rep, name="Acme")
    seen_by_rep = Customer.objects.get(pk=customer.pk)  # an edit form opened before the reassignment

    reassign.customers_reassign(ctx(chief), [customer.pk], other_rep)

    with pytest.raises(StaleVersion):
        record_services.record_update(
            CUSTOMER, ctx=ctx(rep), obj=seen_by_rep, data={"name": "Acme Ltd"}, version=seen_by_rep.version
        )
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.owner, stored.name, stored.version) == (other_rep, "Acme", seen_by_rep.version + 1)


# --- followers ------------------------------------------------------------------------------


def test_followers_are_called_per_batch_before_the_customers_change(
    chief: Any, rep: Any, other_rep: Any, south: Any, make_customer: Any, make_contact: Any, follower: list[Any]
) -> None:
    customers = many_customers(make_customer, make_contact, rep, reassign.BATCH_SIZE + 3, contacts=False)
    ids = [customer.pk for customer in customers]

    result = reassign.customers_reassign(ctx(chief), [*ids, 999_999], other_rep)

    assert result.related["test_things"] == len(ids)
    assert [len(call[1]) for call in follower] == [reassign.BATCH_SIZE, 3]
    assert sorted(pk for call in follower for pk in call[1]) == sorted(ids)
    for user, _ids, owner, team, owners_then in follower:
        assert (user, owner, team) == (chief, other_rep, south)
        assert owners_then == {rep.pk}  # the customers still had their old owner


def test_followers_are_not_called_without_include_related(
    chief: Any, rep: Any, other_rep: Any, make_customer: Any, follower: list[Any]
) -> None:
    customer = make_customer(rep, name="Acme")

    result = reassign.customers_reassign(ctx(chief), [customer.pk], other_rep, include_related=False)

    assert follower == []
    assert result.related == {}


def test_a_failing_follower_undoes_the_whole_reassignment(
    chief: Any, rep: Any, other_rep: Any, make_customer: Any
) -> None:
    customer = make_customer(rep, name="Acme")

    def broken(ctx: Context, customer_ids: list[int], owner: Any, team: Any) -> int:
        raise RuntimeError("boom")

    reassign.register_follower(broken, key="test_broken")
    try:
        with pytest.raises(RuntimeError):
            reassign.customers_reassign(ctx(chief), [customer.pk], other_rep)
    finally:
        reassign._followers.pop("test_broken")

    assert Customer.objects.get(pk=customer.pk).owner == rep
    assert not reassign_entries().exists()


def test_the_result_describes_what_followers_moved(chief: Any, rep: Any, other_rep: Any) -> None:
    result = reassign.ReassignResult(owner=other_rep, team=None, reassigned=3, related={"unknown": 2})

    assert result.related_texts() == ["unknown: 2"]
