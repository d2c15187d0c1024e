"""Merging two customers (or contacts) moves every related record to the survivor; undo puts
everything back."""

# ruff: noqa: F811  (fixtures imported from the support modules)
from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from kehu.activities import services as activities
from kehu.activities.models import Interaction, Task
from kehu.customers.lifecycle import change_stage
from kehu.customers.models import Contact, Customer, Need
from kehu.customers.records import CONTACT, CUSTOMER
from kehu.customers.services import need_create
from kehu.dataio.dedupe import services
from kehu.dataio.dedupe.models import CandidateStatus, DuplicateCandidate
from kehu.platform.errors import NotVisible
from kehu.platform.models import AuditAction, AuditEntry, SearchDocument, TimelineEntry
from kehu.platform.services import record_update
from kehu.sales.contracts import services as contracts
from kehu.sales.contracts.models import Contract, Order
from kehu.sales.opportunities import services as opportunities
from kehu.sales.opportunities.models import Opportunity
from tests.dataio.dedupe_support import ctx_of, manager  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(
    rep: Any, make_customer: Any, make_contact: Any, define: Any, django_capture_on_commit_callbacks: Any
) -> dict[str, Any]:
    """Two records of one company, each with its own related records (indexed for search)."""
    with django_capture_on_commit_callbacks(execute=True):
        return _make_pair(rep, make_customer, make_contact, define)


def _make_pair(rep: Any, make_customer: Any, make_contact: Any, define: Any) -> dict[str, Any]:
    define("budget", "integer")
    define("region", "text")
    survivor = make_customer(rep, name="上海晨光科技有限公司", city="上海", tags=["VIP"], custom={"budget": 10})
    loser = make_customer(
        rep,
        name="上海晨光科技",
        city="上海",
        phone="13800138000",
        industry="Software",
        tags=["Partner"],
        custom={"budget": 99, "region": "East"},
    )
    ctx = ctx_of(rep)
    own_contact = make_contact(rep, survivor, name="王芳", is_primary=True)
    contact = make_contact(rep, loser, name="李雷", is_primary=True)
    interaction = activities.interaction_log(
        ctx, {"customer": loser, "subject": "Price enquiry", "contacts": [contact.pk]}
    )
    task = activities.task_create(
        ctx, {"title": "Call back", "customer": loser, "due_at": timezone.now() + datetime.timedelta(days=1)}
    )
    need = need_create(ctx=ctx, data={"customer": loser, "title": "ERP"})
    opportunity = opportunities.opportunity_create(ctx, {"customer": loser, "name": "Big deal"})
    contract = contracts.contract_create(
        ctx,
        {
            "customer": loser,
            "title": "Supply",
            "start_date": datetime.date(2026, 1, 1),
            "amount": Decimal("100.00"),
            "currency": "CNY",
        },
    )
    order = contracts.order_create(ctx, {"customer": loser, "currency": "CNY", "order_date": datetime.date(2026, 1, 1)})
    change_stage(ctx, loser, "prospect")  # a fact on the loser's timeline
    return {
        "survivor": Customer.objects.get(pk=survivor.pk),
        "loser": Customer.objects.get(pk=loser.pk),
        "own_contact": own_contact,
        "contact": contact,
        "interaction": interaction,
        "task": task,
        "need": need,
        "opportunity": opportunity,
        "contract": contract,
        "order": order,
    }


def _owners(pair: dict[str, Any]) -> dict[str, int]:
    return {
        "contact": Contact.all_objects.get(pk=pair["contact"].pk).customer_id,
        "interaction": Interaction.all_objects.get(pk=pair["interaction"].pk).customer_id,
        "task": Task.all_objects.get(pk=pair["task"].pk).customer_id,
        "need": Need.all_objects.get(pk=pair["need"].pk).customer_id,
        "opportunity": Opportunity.all_objects.get(pk=pair["opportunity"].pk).customer_id,
        "contract": Contract.all_objects.get(pk=pair["contract"].pk).customer_id,
        "order": Order.all_objects.get(pk=pair["order"].pk).customer_id,
    }


def test_merge_moves_every_related_record_to_the_survivor_and_undo_puts_everything_back(
    rep: Any, pair: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    survivor, loser = pair["survivor"], pair["loser"]
    facts_before = set(
        TimelineEntry.objects.filter(subject_type="customer", subject_id=loser.pk, origin="fact").values_list(
            "pk", flat=True
        )
    )
    assert facts_before  # the first lifecycle stage

    with django_capture_on_commit_callbacks(execute=True):  # the events' subscribers run
        merge = services.merge_records(
            CUSTOMER, ctx=ctx_of(rep), survivor=survivor, loser=loser, choices={"custom.budget": "loser"}
        )

    assert set(_owners(pair).values()) == {survivor.pk}
    merged = Customer.objects.get(pk=survivor.pk)
    assert merged.phone == "+8613800138000"  # blank on the survivor: filled from the loser
    assert merged.industry == "Software"
    assert merged.custom == {"budget": 99, "region": "East"}  # chosen / filled per field
    assert sorted(merged.tags.values_list("name", flat=True)) == ["Partner", "VIP"]
    assert Customer.all_objects.get(pk=loser.pk).is_deleted
    contact = Contact.objects.get(pk=pair["contact"].pk)
    assert (contact.owner_id, contact.team_id) == (merged.owner_id, merged.team_id)
    assert not contact.is_primary  # the survivor keeps its own primary contact
    assert Contact.objects.get(pk=pair["own_contact"].pk).is_primary
    assert (
        set(
            TimelineEntry.objects.filter(
                subject_type="customer", subject_id=survivor.pk, pk__in=facts_before
            ).values_list("pk", flat=True)
        )
        == facts_before
    )
    # the search index and the timeline follow the moved records
    document = SearchDocument.objects.get(record_type="contact", record_id=contact.pk)
    assert survivor.name in document.body
    assert TimelineEntry.objects.filter(
        subject_type="customer", subject_id=survivor.pk, record_type="interaction", record_id=pair["interaction"].pk
    ).exists()
    assert AuditEntry.objects.filter(action=AuditAction.MERGE, object_id__in=[survivor.pk, loser.pk]).count() == 2
    assert merge.moved_count >= 7

    with django_capture_on_commit_callbacks(execute=True):
        services.merge_undo(ctx=ctx_of(rep), merge=merge)

    assert set(_owners(pair).values()) == {loser.pk}
    assert loser.name in SearchDocument.objects.get(record_type="contact", record_id=contact.pk).body
    restored = Customer.objects.get(pk=loser.pk)
    assert restored.name == "上海晨光科技"
    survivor_now = Customer.objects.get(pk=survivor.pk)
    assert survivor_now.phone == ""
    assert survivor_now.industry == ""
    assert survivor_now.custom == {"budget": 10}
    assert list(survivor_now.tags.values_list("name", flat=True)) == ["VIP"]
    assert Contact.objects.get(pk=pair["contact"].pk).is_primary
    assert list(Interaction.objects.get(pk=pair["interaction"].pk).contacts.all()) == [pair["contact"]]
    assert (
        set(
            TimelineEntry.objects.filter(subject_type="customer", subject_id=loser.pk, pk__in=facts_before).values_list(
                "pk", flat=True
            )
        )
        == facts_before
    )
    assert AuditEntry.objects.filter(action=AuditAction.UNMERGE).count() == 2
    merge.refresh_from_db()
    assert merge.undone_at is not None


def test_related_records_in_the_trash_move_too(rep: Any, pair: dict[str, Any]) -> None:
    from kehu.customers.records import NEED
    from kehu.platform.services import record_delete

    record_delete(NEED, ctx=ctx_of(rep), obj=pair["need"])
    services.merge_records(CUSTOMER, ctx=ctx_of(rep), survivor=pair["survivor"], loser=pair["loser"])
    assert Need.all_objects.get(pk=pair["need"].pk).customer_id == pair["survivor"].pk


def test_undo_refuses_when_the_survivor_changed_since_unless_forced(rep: Any, pair: dict[str, Any]) -> None:
    merge = services.merge_records(CUSTOMER, ctx=ctx_of(rep), survivor=pair["survivor"], loser=pair["loser"])
    survivor = Customer.objects.get(pk=pair["survivor"].pk)
    record_update(CUSTOMER, ctx=ctx_of(rep), obj=survivor, data={"notes": "changed later"})

    with pytest.raises(ValidationError, match="changed after the merge"):
        services.merge_undo(ctx=ctx_of(rep), merge=merge)
    assert Customer.all_objects.get(pk=pair["loser"].pk).is_deleted

    services.merge_undo(ctx=ctx_of(rep), merge=merge, force=True)
    assert not Customer.objects.get(pk=pair["loser"].pk).is_deleted
    assert set(_owners(pair).values()) == {pair["loser"].pk}


def test_undo_twice_is_refused(rep: Any, pair: dict[str, Any]) -> None:
    merge = services.merge_records(CUSTOMER, ctx=ctx_of(rep), survivor=pair["survivor"], loser=pair["loser"])
    services.merge_undo(ctx=ctx_of(rep), merge=merge)
    with pytest.raises(ValidationError, match="already been undone"):
        services.merge_undo(ctx=ctx_of(rep), merge=merge)


def test_rep_cannot_merge_another_teams_customer(rep: Any, other_rep: Any, make_customer: Any) -> None:
    mine = make_customer(rep, name="Acme")
    theirs = make_customer(other_rep, name="Acme")
    with pytest.raises(NotVisible):
        services.merge_records(CUSTOMER, ctx=ctx_of(rep), survivor=mine, loser=theirs)
    assert not Customer.objects.get(pk=theirs.pk).is_deleted


def test_read_only_user_cannot_merge(reader: Any, rep: Any, make_customer: Any) -> None:
    first, second = make_customer(rep, name="Acme"), make_customer(rep, name="Acme")
    with pytest.raises(PermissionDenied):
        services.merge_records(CUSTOMER, ctx=ctx_of(reader), survivor=first, loser=second)


def test_a_record_cannot_be_merged_with_itself(rep: Any, make_customer: Any) -> None:
    first = make_customer(rep, name="Acme")
    with pytest.raises(ValidationError):
        services.merge_records(CUSTOMER, ctx=ctx_of(rep), survivor=first, loser=first)


def test_a_bad_choice_is_refused(rep: Any, make_customer: Any) -> None:
    first, second = make_customer(rep, name="Acme"), make_customer(rep, name="Acme", city="Wuxi")
    with pytest.raises(ValidationError):
        services.merge_records(CUSTOMER, ctx=ctx_of(rep), survivor=first, loser=second, choices={"city": "both"})
    assert not Customer.objects.get(pk=second.pk).is_deleted


def test_manager_merges_records_of_two_teams(manager: Any, rep: Any, other_rep: Any, make_customer: Any) -> None:
    mine = make_customer(rep, name="Acme")
    theirs = make_customer(other_rep, name="Acme", city="Suzhou")
    services.merge_records(CUSTOMER, ctx=ctx_of(manager), survivor=mine, loser=theirs)
    assert Customer.objects.get(pk=mine.pk).city == "Suzhou"


def test_contacts_merge_with_their_interactions(rep: Any, make_customer: Any, make_contact: Any) -> None:
    customer = make_customer(rep, name="Acme")
    first = make_contact(rep, customer, name="张伟", mobile="13900000001")
    second = make_contact(rep, customer, name="张伟", email="zw@example.com")
    ctx = ctx_of(rep)
    both = activities.interaction_log(
        ctx, {"customer": customer, "subject": "Meeting", "contacts": [first.pk, second.pk]}
    )
    only = activities.interaction_log(ctx, {"customer": customer, "subject": "Call", "contacts": [second.pk]})
    task = activities.task_create(
        ctx,
        {
            "title": "Send offer",
            "contact": second,
            "customer": customer,
            "due_at": timezone.now() + datetime.timedelta(days=1),
        },
    )

    merge = services.merge_records(CONTACT, ctx=ctx, survivor=first, loser=second)

    merged = Contact.objects.get(pk=first.pk)
    assert (merged.mobile, merged.email) == ("+8613900000001", "zw@example.com")
    assert list(Interaction.objects.get(pk=both.pk).contacts.all()) == [merged]
    assert list(Interaction.objects.get(pk=only.pk).contacts.all()) == [merged]
    assert Task.objects.get(pk=task.pk).contact_id == first.pk

    services.merge_undo(ctx=ctx, merge=merge)

    assert set(Interaction.objects.get(pk=both.pk).contacts.values_list("pk", flat=True)) == {first.pk, second.pk}
    assert list(Interaction.objects.get(pk=only.pk).contacts.values_list("pk", flat=True)) == [second.pk]
    assert Task.objects.get(pk=task.pk).contact_id == second.pk
    assert Contact.objects.get(pk=first.pk).email == ""


def test_merging_a_pair_marks_it_merged_and_undo_reopens_it(rep: Any, make_customer: Any) -> None:
    first, second = make_customer(rep, name="Acme"), make_customer(rep, name="ACME Ltd.")
    candidate = DuplicateCandidate.objects.create(
        record_type="customer", left_id=first.pk, right_id=second.pk, score=100, reasons=[]
    )
    merge = services.candidate_merge(ctx=ctx_of(rep), candidate=candidate)
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.MERGED
    assert (merge.survivor_id, merge.loser_id) == (first.pk, second.pk)  # the older record survives
    services.merge_undo(ctx=ctx_of(rep), merge=merge)
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.OPEN


def test_bulk_merge_reports_pairs_that_cannot_be_merged(rep: Any, make_customer: Any) -> None:
    a, b, c = (
        make_customer(rep, name="Acme"),
        make_customer(rep, name="Acme", city="Wuxi"),
        make_customer(rep, name="Acme"),
    )
    first = DuplicateCandidate.objects.create(record_type="customer", left_id=a.pk, right_id=b.pk, score=100)
    second = DuplicateCandidate.objects.create(record_type="customer", left_id=b.pk, right_id=c.pk, score=100)
    result = services.candidates_merge(ctx=ctx_of(rep), candidates=[first, second])
    assert len(result.merged) == 1
    assert len(result.failed) == 1  # b went to the trash with the first merge
    assert Customer.objects.get(pk=a.pk).city == "Wuxi"


def test_a_survivor_in_the_losers_group_takes_its_place(rep: Any, make_customer: Any) -> None:
    group = make_customer(rep, name="Holding")
    parent = make_customer(rep, name="Acme Group", parent=group.pk)
    child = make_customer(rep, name="Acme Group Ltd", parent=parent.pk)
    sibling = make_customer(rep, name="Acme Retail", parent=parent.pk)

    merge = services.merge_records(CUSTOMER, ctx=ctx_of(rep), survivor=child, loser=parent)

    assert Customer.objects.get(pk=child.pk).parent_id == group.pk
    assert Customer.objects.get(pk=sibling.pk).parent_id == child.pk
    services.merge_undo(ctx=ctx_of(rep), merge=merge)
    assert Customer.objects.get(pk=child.pk).parent_id == parent.pk
    assert Customer.objects.get(pk=sibling.pk).parent_id == parent.pk


def test_a_choice_for_an_unknown_field_is_refused(rep: Any, make_customer: Any) -> None:
    first, second = make_customer(rep, name="Acme"), make_customer(rep, name="Acme")
    with pytest.raises(ValidationError, match="no such field"):
        services.merge_records(CUSTOMER, ctx=ctx_of(rep), survivor=first, loser=second, choices={"owner": "loser"})
    # a field on which both agree may be named: nothing to choose
    services.merge_records(CUSTOMER, ctx=ctx_of(rep), survivor=first, loser=second, choices={"city": "loser"})
    assert Customer.all_objects.get(pk=second.pk).is_deleted
