"""The duplicate finder: pairs of records of one type that are likely the same customer or
person, with a score and the reasons, stored as ``DuplicateCandidate`` rows for review.

Three rules find pairs (docs/admin-guide.md, "Duplicates"):

1. the same phone or email — a GROUP BY on the blind index (``<field>_bidx``) of every
   encrypted phone or email field of the type, across fields of the same kind (a contact's
   mobile equal to another's phone);
2. the same name read in pinyin (normalized: legal forms, case, spaces and punctuation do
   not count; 晨光 / 辰光);
3. similar names (``name_score`` ≥ ``NAME_THRESHOLD``) in the same scope: the same city for
   customers, the same customer for contacts (any type with a ``customer`` or ``city`` field).
   Names are compared only within blocks of names that share a blocking key
   (``matching.blocking_keys``) in the same scope, so the work grows with the number of
   records, not its square.

Rules 1 and 2 skip groups larger than ``MAX_GROUP`` (a switchboard number shared by a whole
company, a common person's name across customers says nothing) and rule 3 blocks larger than
``MAX_BLOCK``: the counts report how many were skipped. Records in the trash are ignored.
A rescan updates scores and reasons, keeps dismissed and merged pairs as they are, and drops
the open pairs it no longer finds.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from rapidfuzz import fuzz, process

from kehu.dataio import matching
from kehu.dataio.dedupe.models import CandidateStatus, DuplicateCandidate
from kehu.platform.access import require
from kehu.platform.context import Context
from kehu.platform.fields import EncryptedField, encrypted_fields
from kehu.platform.records import RecordType, registry

MAX_GROUP = 20  # records sharing one phone, email or pinyin name: more is not a duplicate signal
MAX_BLOCK = 2000  # names sharing one blocking key in one scope: larger blocks are skipped
BATCH = 1000

# The score a reason gives a pair on its own; several reasons add ``EXTRA_REASON`` each.
SAME_EMAIL_SCORE = 90
SAME_PHONE_SCORE = 85
EXTRA_REASON = 5
DEDUPE_KINDS = ("phone", "email")
SHORT_NAME = 4  # normalized names shorter than this (王伟, 张晓东) are taken for people's
NAME_REASONS = frozenset({"same_name", "pinyin", "similar_name"})


@dataclass
class _Pair:
    score: float = 0.0
    reasons: dict[str, str] = field(default_factory=dict)  # code -> text, in the order found

    def add(self, code: str, text: str, score: float) -> None:
        self.reasons.setdefault(code, text)
        self.score = max(self.score, score)

    def final_score(self) -> int:
        return min(100, round(self.score + EXTRA_REASON * (len(self.reasons) - 1)))


@dataclass
class ScanResult:
    record_type: str
    records: int = 0
    pairs: int = 0
    new: int = 0
    updated: int = 0
    removed: int = 0
    kept_dismissed: int = 0
    skipped_groups: int = 0
    skipped_blocks: int = 0
    comparisons: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def name_field(rt: RecordType) -> str | None:
    """The field a record type's names are in (``name``), if it has one."""
    try:
        rt.model._meta.get_field("name")  # type: ignore[misc]  # not every record type has one
    except FieldDoesNotExist:
        return None
    return "name"


def scope_field(rt: RecordType) -> str | None:
    """What similar names must share to count: the customer (contacts and other records of a
    customer), else the city (customers), else nothing (the whole type)."""
    names = {f.name for f in rt.model._meta.concrete_fields}
    if "customer" in names:
        return "customer_id"
    if "city" in names:
        return "city"
    return None


@lru_cache(maxsize=10_000)
def city_key(city: str) -> str:
    """A city as compared: case, width, spaces and a trailing 市 / "city" do not count
    ("杭州市" and "杭州", "Shenzhen City" and "shenzhen")."""
    key = matching.normalize_name(city)
    for suffix in ("市", "city"):
        if key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
    return key


def dedupable_types() -> list[RecordType]:
    """The record types the finder scans: those with a name or an encrypted phone/email."""
    return [rt for rt in registry if name_field(rt) or any(f.kind in DEDUPE_KINDS for f in encrypted_fields(rt.model))]


def _ordered(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _pairs_of(ids: list[int]) -> Iterable[tuple[int, int]]:
    ids = sorted(set(ids))
    for i, left in enumerate(ids):
        for right in ids[i + 1 :]:
            yield left, right


def _same_contact_details(rt: RecordType, found: dict[tuple[int, int], _Pair], result: ScanResult) -> None:
    """Rule 1: records sharing a blind-indexed phone or email (per kind, across fields)."""
    alive = rt.model.objects.all()
    by_kind: dict[str, list[EncryptedField]] = defaultdict(list)
    for enc in encrypted_fields(rt.model):
        if enc.kind in DEDUPE_KINDS:
            by_kind[enc.kind].append(enc)
    for kind, fields in by_kind.items():
        filled = {
            enc.index_name: alive.exclude(**{enc.index_name: ""}).exclude(**{f"{enc.index_name}__isnull": True})
            for enc in fields
        }
        keys: set[str] = set()
        for column, rows in filled.items():
            # GROUP BY the blind index: values more than one record holds
            keys.update(rows.values(column).annotate(n=Count("id")).filter(n__gt=1).values_list(column, flat=True))
            for other, other_rows in filled.items():
                if other != column:  # a value in one field (mobile) and another (phone)
                    keys.update(
                        rows.filter(**{f"{column}__in": other_rows.values(other)}).values_list(column, flat=True)
                    )
        groups: dict[str, set[int]] = defaultdict(set)
        ordered = sorted(keys)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            for column in filled:
                for key, pk in alive.filter(**{f"{column}__in": chunk}).values_list(column, "pk"):
                    groups[key].add(pk)
        text = _("Same email address") if kind == "email" else _("Same phone number")
        score = SAME_EMAIL_SCORE if kind == "email" else SAME_PHONE_SCORE
        for ids in groups.values():
            if len(ids) < 2:
                continue
            if len(ids) > MAX_GROUP:
                result.skipped_groups += 1
                continue
            for pair in _pairs_of(list(ids)):
                found.setdefault(pair, _Pair()).add(f"same_{kind}", text, score)


def _names(rt: RecordType) -> list[tuple[int, str, Any]]:
    name = name_field(rt)
    if name is None:
        return []
    scope = scope_field(rt)
    columns = ["pk", name, scope] if scope else ["pk", name]
    rows = rt.model.objects.exclude(**{name: ""}).values_list(*columns).iterator(chunk_size=5000)
    return [(row[0], row[1], row[2] if scope else None) for row in rows]


def _same_pinyin(
    rt: RecordType, rows: list[tuple[int, str, Any]], found: dict[tuple[int, int], _Pair], result: ScanResult
) -> None:
    """Rule 2: the same normalized name, or the same name read in pinyin. Contacts (records of
    a customer) only within the same customer, and short names (people's: 王伟) only in the same
    city: two people called 王伟 at two companies are two people."""
    scope_name = scope_field(rt)
    same_text, pinyin_text = _("Same name"), _("Names read the same in pinyin")
    groups: dict[tuple[Any, str], list[tuple[int, str]]] = defaultdict(list)
    for pk, name, scope in rows:
        forms = matching.name_forms(name)
        if not forms.pinyin:
            continue
        if scope_name == "customer_id" or len(forms.normalized) < SHORT_NAME:
            # people: the same name at another customer, or in another city, is another person
            if scope in (None, ""):
                continue
            key = city_key(scope) if scope_name == "city" else scope
        else:
            key = None
        groups[(key, forms.pinyin)].append((pk, forms.normalized))
    for members in groups.values():
        if len(members) < 2:
            continue
        if len(members) > MAX_GROUP:
            result.skipped_groups += 1
            continue
        for i, (left, left_name) in enumerate(members):
            for right, right_name in members[i + 1 :]:
                if left_name == right_name:
                    code, text, score = "same_name", same_text, 100.0
                else:
                    code, text, score = "pinyin", pinyin_text, matching.PINYIN_EQUAL_SCORE
                found.setdefault(_ordered(left, right), _Pair()).add(code, text, score)


def _similar_names(
    rt: RecordType,
    rows: list[tuple[int, str, Any]],
    found: dict[tuple[int, int], _Pair],
    result: ScanResult,
    threshold: float,
) -> None:
    """Rule 3: similar names in the same scope, compared within blocks."""
    scope = scope_field(rt)
    text = _("Similar names in the same city") if scope == "city" else _("Similar names")
    if scope == "customer_id":
        text = _("Similar names at the same customer")
    blocks: dict[tuple[Any, str], list[int]] = defaultdict(list)
    forms: dict[int, matching.NameForms] = {}
    for pk, name, place in rows:
        if scope and place in (None, ""):
            continue  # no city: shares no city with anybody
        key_scope = city_key(place) if scope == "city" else place
        forms[pk] = matching.name_forms(name)
        for key in matching.blocking_keys(name):
            blocks[(key_scope, key)].append(pk)
    compared: set[tuple[int, int]] = set()
    for members in blocks.values():
        if len(members) < 2:
            continue
        if len(members) > MAX_BLOCK:
            result.skipped_blocks += 1
            continue
        # by length: names that score ≥ threshold by their characters differ in length by at
        # most about a fifth, so each name is compared with the next ones up to that length
        members.sort(key=lambda pk: len(forms[pk].normalized))
        normalized = [forms[pk].normalized for pk in members]
        sorted_words = [forms[pk].sorted_words for pk in members]
        lengths = [len(value) for value in normalized]
        # the shortest length ratio that can reach the threshold (less a margin: sorted words
        # count their spaces)
        ratio = threshold / (200 - threshold) - 0.05
        end = 0
        for i in range(len(members) - 1):
            end = max(end, i + 1)
            while end < len(members) and lengths[i] >= ratio * lengths[end]:
                end += 1
            if end == i + 1:
                continue
            # rapidfuzz compares one name with the rest of the window in C; only the pairs at or
            # above the threshold come back (name_score is the best of these two ratios, and of
            # pinyin equality, which rule 2 finds)
            hits: dict[int, None] = {}
            for choices, query in ((normalized, normalized[i]), (sorted_words, sorted_words[i])):
                for _choice, _score, index in process.extract(
                    query, choices[i + 1 : end], scorer=fuzz.ratio, score_cutoff=threshold, limit=None
                ):
                    hits[i + 1 + index] = None
            result.comparisons += end - i - 1
            for j in hits:
                pair = _ordered(members[i], members[j])
                if pair in compared:
                    continue
                compared.add(pair)
                if pair in found and set(found[pair].reasons) & NAME_REASONS:
                    continue  # the same name already said so
                score = matching.forms_score(forms[pair[0]], forms[pair[1]])
                if score >= threshold:
                    found.setdefault(pair, _Pair()).add("similar_name", f"{text} ({score:.0f})", score)


def find_pairs(
    rt: RecordType, *, threshold: float = matching.NAME_THRESHOLD
) -> tuple[dict[tuple[int, int], _Pair], ScanResult]:
    """The likely duplicate pairs of ``rt`` (records in the trash left out), without storing them."""
    result = ScanResult(record_type=rt.key)
    found: dict[tuple[int, int], _Pair] = {}
    _same_contact_details(rt, found, result)
    rows = _names(rt)
    result.records = rt.model.objects.count()
    if rows:
        _same_pinyin(rt, rows, found, result)
        _similar_names(rt, rows, found, result, threshold)
        # a pair found by phone or email whose names are also alike says so
        names = {pk: name for pk, name, _scope in rows}
        for (left, right), pair in found.items():
            if not set(pair.reasons) & NAME_REASONS and left in names and right in names:
                score = matching.name_score(names[left], names[right])
                if score >= threshold:
                    pair.add("similar_name", f"{_('Similar names')} ({score:.0f})", score)
    return found, result


def scan(record_type: str, *, ctx: Context | None = None, threshold: float = matching.NAME_THRESHOLD) -> dict[str, Any]:
    """Find the likely duplicates of ``record_type`` and store them for review; returns the
    counts (records, pairs, new, updated, removed, kept_dismissed, skipped_groups,
    skipped_blocks, comparisons, seconds). ``ctx``: who asked (needs the "change" permission
    on the type); ``None`` for the system (the worker, housekeeping). Raises KeyError for an
    unknown record type, PermissionDenied."""
    rt = registry[record_type]
    if ctx is not None:
        require(ctx, rt, "change")
    started = time.monotonic()
    found, result = find_pairs(rt, threshold=threshold)
    now = timezone.now()
    with transaction.atomic():
        existing = {
            (c.left_id, c.right_id): c for c in DuplicateCandidate.objects.filter(record_type=rt.key).iterator()
        }
        new: list[DuplicateCandidate] = []
        changed: list[DuplicateCandidate] = []
        for (left, right), pair in found.items():
            reasons = [{"code": code, "text": text} for code, text in pair.reasons.items()]
            score = pair.final_score()
            candidate = existing.get((left, right))
            if candidate is None:
                new.append(
                    DuplicateCandidate(
                        record_type=rt.key, left_id=left, right_id=right, score=score, reasons=reasons, found_at=now
                    )
                )
                continue
            if candidate.status == CandidateStatus.DISMISSED:
                result.kept_dismissed += 1
            if candidate.score != score or candidate.reasons != reasons:
                candidate.score, candidate.reasons = score, reasons
                changed.append(candidate)
        gone = [c.pk for key, c in existing.items() if key not in found and c.status == CandidateStatus.OPEN]
        DuplicateCandidate.objects.bulk_create(new, batch_size=BATCH)
        DuplicateCandidate.objects.bulk_update(changed, ["score", "reasons"], batch_size=BATCH)
        for start in range(0, len(gone), BATCH):
            DuplicateCandidate.objects.filter(pk__in=gone[start : start + BATCH]).delete()
    result.pairs = len(found)
    result.new, result.updated, result.removed = len(new), len(changed), len(gone)
    result.seconds = round(time.monotonic() - started, 2)
    return result.as_dict()
