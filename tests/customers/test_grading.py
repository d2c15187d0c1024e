"""Grades: set by hand (manual) or by the rule over purchase metrics from registered providers;
the rule never overwrites a manual grade unless forced."""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import pytest

from kehu.customers import grading
from kehu.customers.grading import Metrics
from kehu.customers.models import Customer, Grade, GradeSource
from kehu.customers.services import customer_update
from kehu.platform.context import Context, Source
from kehu.platform.models import AuditEntry

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 6, 30)


def rules() -> list[Grade]:
    grades = {g.key: g for g in Grade.objects.all()}
    grades["A"].min_amount, grades["A"].min_orders, grades["A"].max_days_since_last = Decimal(100000), 5, 90
    grades["B"].min_amount, grades["B"].max_days_since_last = Decimal(20000), 180
    grades["C"].min_orders = 1
    for grade in grades.values():
        grade.save()
    return list(grades.values())


def test_default_grades_are_seeded() -> None:
    assert [(g.key, g.description) for g in Grade.objects.order_by("order")] == [
        ("A", "High value"),
        ("B", "Potential"),
        ("C", "Ordinary"),
        ("D", "Low frequency"),
    ]


@pytest.mark.parametrize(
    ("metrics", "expected"),
    [
        (Metrics(Decimal(150000), 8, TODAY - datetime.timedelta(days=10)), "A"),
        (Metrics(Decimal(150000), 8, TODAY - datetime.timedelta(days=120)), "B"),  # not recent enough for A
        (Metrics(Decimal(150000), 3, TODAY - datetime.timedelta(days=10)), "B"),  # too few orders for A
        (Metrics(Decimal(5000), 2, TODAY - datetime.timedelta(days=400)), "C"),
        (Metrics(Decimal(0), 0, None), None),  # D has no rule: never chosen by the rule
    ],
)
def test_grade_for_takes_the_first_grade_whose_every_threshold_is_met(metrics: Metrics, expected: Any) -> None:
    found = grading.grade_for(metrics, rules(), today=TODAY)

    assert (found.key if found else None) == expected


@pytest.fixture
def provider() -> Iterator[dict[int, Metrics]]:
    """A metrics provider (what the sales module will register) fed by the test."""
    table: dict[int, Metrics] = {}

    def provide(customer_ids: Sequence[int]) -> dict[int, Metrics]:
        return {pk: table[pk] for pk in customer_ids if pk in table}

    grading.register_metrics(provide)
    yield table
    grading.unregister_metrics(provide)


def test_regrade_without_a_provider_changes_nothing(rep: Any, make_customer: Any) -> None:
    rules()
    customer = make_customer(rep)

    assert grading.regrade(Context(user=rep), [customer.pk]) == 0
    assert Customer.objects.get(pk=customer.pk).grade_id is None


def test_regrade_applies_the_rule_audited_and_keeps_manual_grades(
    rep: Any, make_customer: Any, provider: dict[int, Metrics]
) -> None:
    rules()
    recent = datetime.date.today() - datetime.timedelta(days=5)
    ruled, manual, unknown = make_customer(rep, name="R"), make_customer(rep, name="M", grade="D"), make_customer(rep)
    provider[ruled.pk] = provider[manual.pk] = Metrics(Decimal(200000), 10, recent)
    ctx = Context(user=rep, source=Source.AUTOMATION)

    assert grading.regrade(ctx, [ruled.pk, manual.pk, unknown.pk]) == 1
    assert grading.regrade(ctx, [ruled.pk, manual.pk]) == 0  # already graded so

    stored = {c.pk: c for c in Customer.objects.all()}
    assert (stored[ruled.pk].grade_id, stored[ruled.pk].grade_source, stored[ruled.pk].version) == ("A", "rule", 2)
    assert (stored[manual.pk].grade_id, stored[manual.pk].grade_source) == ("D", "manual")
    assert stored[unknown.pk].grade_id is None
    entry = AuditEntry.objects.filter(object_id=ruled.pk, action="update").get()
    assert entry.changes == {"grade": [None, {"id": "A", "repr": "A"}], "grade_source": ["manual", "rule"]}
    assert entry.source == "automation"

    assert grading.regrade(ctx, [manual.pk], force=True) == 1
    assert Customer.objects.get(pk=manual.pk).grade_id == "A"


def test_a_grade_given_by_hand_after_the_rule_is_manual_again(
    rep: Any, make_customer: Any, provider: dict[int, Metrics]
) -> None:
    rules()
    customer = make_customer(rep)
    provider[customer.pk] = Metrics(Decimal(1), 1, datetime.date.today())
    grading.regrade(Context(user=rep), [customer.pk])
    assert Customer.objects.get(pk=customer.pk).grade_source == GradeSource.RULE

    customer_update(ctx=Context(user=rep), customer=Customer.objects.get(pk=customer.pk), data={"name": "Renamed"})
    assert Customer.objects.get(pk=customer.pk).grade_source == GradeSource.RULE  # grade untouched
    customer_update(ctx=Context(user=rep), customer=Customer.objects.get(pk=customer.pk), data={"grade": "B"})

    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.grade_id, stored.grade_source) == ("B", "manual")


def test_metrics_of_several_providers_add_up() -> None:
    def one(ids: Sequence[int]) -> dict[int, Metrics]:
        return {1: Metrics(Decimal(10), 1, datetime.date(2026, 1, 1))}

    def two(ids: Sequence[int]) -> dict[int, Metrics]:
        return {1: Metrics(Decimal(5), 2, datetime.date(2026, 3, 1))}

    grading.register_metrics(one)
    grading.register_metrics(two)
    try:
        assert grading.metrics_for([1]) == {1: Metrics(Decimal(15), 3, datetime.date(2026, 3, 1))}
    finally:
        grading.unregister_metrics(one)
        grading.unregister_metrics(two)


def test_grade_is_writable_through_the_api_by_key(api_as: Any, rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep)
    api = api_as(rep)

    changed = api.patch(f"/customers/{customer.pk}/", {"grade": "B"})
    wrong = api.patch(f"/customers/{customer.pk}/", {"grade": "Z"})
    listed = api.get("/customers/", {"grade": "B"})

    assert changed.status_code == 200, changed.content
    assert (changed.json()["grade"], changed.json()["grade_source"]) == ("B", "manual")
    assert wrong.status_code == 422
    assert [row["id"] for row in listed.json()["items"]] == [customer.pk]
