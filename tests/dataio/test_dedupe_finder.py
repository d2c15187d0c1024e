"""The duplicate finder: which pairs it finds, which it does not, and what rescans keep."""

# ruff: noqa: F811  (fixtures imported from the support modules)
from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from kehu.customers.models import Customer
from kehu.customers.records import CUSTOMER
from kehu.dataio.dedupe import finder, selectors, services
from kehu.dataio.dedupe.models import CandidateStatus, DuplicateCandidate
from kehu.platform.services import record_delete
from tests.dataio.dedupe_support import ctx_of, manager  # noqa: F401

pytestmark = pytest.mark.django_db


def _pairs(record_type: str = "customer") -> dict[frozenset[int], DuplicateCandidate]:
    return {frozenset((c.left_id, c.right_id)): c for c in DuplicateCandidate.objects.filter(record_type=record_type)}


def _codes(candidate: DuplicateCandidate) -> set[str]:
    return {reason["code"] for reason in candidate.reasons}


def test_finder_finds_customers_with_the_same_phone_or_email(rep: Any, make_customer: Any) -> None:
    a = make_customer(rep, name="Alpha Trading", phone="138 0013 8000")
    b = make_customer(rep, name="Omega Foods", phone="+86 13800138000")
    c = make_customer(rep, name="Beta Works", email="Info@Example.com")
    d = make_customer(rep, name="Gamma Tools", email="info@example.com")
    make_customer(rep, name="Delta", phone="13900000000")

    counts = finder.scan("customer", ctx=ctx_of(rep))

    pairs = _pairs()
    assert set(pairs) == {frozenset((a.pk, b.pk)), frozenset((c.pk, d.pk))}
    assert _codes(pairs[frozenset((a.pk, b.pk))]) == {"same_phone"}
    assert _codes(pairs[frozenset((c.pk, d.pk))]) == {"same_email"}
    assert counts["new"] == 2


def test_finder_finds_pinyin_equal_and_similar_names_in_the_same_city(rep: Any, make_customer: Any) -> None:
    same_1 = make_customer(rep, name="晨光文具有限公司", city="上海")
    same_2 = make_customer(rep, name="辰光文具", city="北京")  # reads the same: any city
    similar_1 = make_customer(rep, name="杭州西湖龙井茶叶贸易有限公司", city="杭州")
    similar_2 = make_customer(rep, name="杭州西湖龙井茶园贸易公司", city="杭州市")  # the same city
    make_customer(rep, name="杭州西湖龙井茗茶贸易", city="宁波")  # similar name, another city
    latin_1 = make_customer(rep, name="Acme Widgets Co., Ltd.", city="Shenzhen")
    latin_2 = make_customer(rep, name="ACME Widget Company", city="shenzhen")

    finder.scan("customer")

    pairs = _pairs()
    assert _codes(pairs[frozenset((same_1.pk, same_2.pk))]) == {"pinyin"}
    assert "similar_name" in _codes(pairs[frozenset((similar_1.pk, similar_2.pk))])
    assert "similar_name" in _codes(pairs[frozenset((latin_1.pk, latin_2.pk))])
    assert len(pairs) == 3  # the Ningbo namesake is no duplicate of the Hangzhou ones


def test_finder_does_not_pair_beijing_and_nanjing_companies(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="北京华为技术有限公司", city="北京")
    make_customer(rep, name="南京华为技术有限公司", city="北京")
    finder.scan("customer")
    assert not _pairs()


def test_finder_finds_contacts_with_the_same_mobile_across_fields(
    rep: Any, make_customer: Any, make_contact: Any
) -> None:
    acme = make_customer(rep, name="Acme")
    other = make_customer(rep, name="Other")
    first = make_contact(rep, acme, name="王伟", mobile="13900000001")
    second = make_contact(rep, other, name="Wang Wei", phone="13900000001")  # the same number as a phone
    namesake = make_contact(rep, other, name="王伟")  # at another customer: not a duplicate
    same_customer = make_contact(rep, acme, name="王 伟")

    finder.scan("contact")

    pairs = _pairs("contact")
    assert _codes(pairs[frozenset((first.pk, second.pk))]) == {"same_phone", "similar_name"}  # 王伟 = Wang Wei
    assert _codes(pairs[frozenset((first.pk, same_customer.pk))]) == {"same_name"}
    assert frozenset((first.pk, namesake.pk)) not in pairs


def test_records_in_the_trash_are_ignored_and_their_open_pairs_dropped(rep: Any, make_customer: Any) -> None:
    a = make_customer(rep, name="Acme Trading", email="a@example.com")
    b = make_customer(rep, name="Zeta", email="a@example.com")
    finder.scan("customer")
    assert len(_pairs()) == 1
    record_delete(CUSTOMER, ctx=ctx_of(rep), obj=Customer.objects.get(pk=b.pk))
    counts = finder.scan("customer")
    assert counts["removed"] == 1
    assert not _pairs()
    assert a.pk


def test_dismissed_pairs_stay_dismissed_after_a_rescan(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Acme", email="a@example.com")
    make_customer(rep, name="Acme Ltd", email="a@example.com")
    finder.scan("customer")
    candidate = DuplicateCandidate.objects.get()
    services.candidate_dismiss(ctx=ctx_of(rep), candidate=candidate)

    counts = finder.scan("customer")

    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.DISMISSED
    assert counts["kept_dismissed"] == 1
    assert not selectors.candidates_for(rep).exists()


def test_rescan_updates_the_score_and_reasons(rep: Any, make_customer: Any) -> None:
    a = make_customer(rep, name="Acme", email="a@example.com")
    make_customer(rep, name="Zeta", email="a@example.com")
    finder.scan("customer")
    assert _codes(DuplicateCandidate.objects.get()) == {"same_email"}
    from kehu.platform.services import record_update

    record_update(CUSTOMER, ctx=ctx_of(rep), obj=Customer.objects.get(pk=a.pk), data={"name": "Zeta"})
    counts = finder.scan("customer")
    candidate = DuplicateCandidate.objects.get()
    assert _codes(candidate) == {"same_email", "same_name"}
    assert candidate.score == 100
    assert counts["updated"] == 1


def test_scan_needs_the_change_permission(reader: Any) -> None:
    with pytest.raises(PermissionDenied):
        finder.scan("customer", ctx=ctx_of(reader))


def test_rep_sees_only_pairs_of_records_they_can_see(
    rep: Any,
    other_rep: Any,
    manager: Any,
    make_customer: Any,
) -> None:
    make_customer(rep, name="Acme", email="a@example.com")
    make_customer(other_rep, name="Acme", email="a@example.com")
    make_customer(rep, name="Beta", phone="13800000009")
    make_customer(rep, name="Beta Ltd", phone="13800000009")
    finder.scan("customer")
    assert DuplicateCandidate.objects.count() == 2
    assert selectors.candidates_for(rep).count() == 1
    assert selectors.candidates_for(other_rep).count() == 0
    assert selectors.candidates_for(manager).count() == 2


def test_dismiss_of_a_pair_the_user_cannot_see_is_refused(rep: Any, other_rep: Any, make_customer: Any) -> None:
    from kehu.platform.errors import NotVisible

    make_customer(other_rep, name="Acme", email="a@example.com")
    make_customer(other_rep, name="Acme", email="a@example.com")
    finder.scan("customer")
    with pytest.raises(NotVisible):
        services.candidate_dismiss(ctx=ctx_of(rep), candidate=DuplicateCandidate.objects.get())
