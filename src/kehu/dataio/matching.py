"""Name matching for imports and the duplicate finder: pure functions, no database.

Two names are compared after ``normalize_name`` (NFKC, case-folded, punctuation and spaces
removed, legal-form suffixes such as 有限公司 or "Co., Ltd." dropped), so "上海晨光科技有限公司"
and "上海晨光科技" are the same name. ``name_score`` is Chinese-aware: CJK text is compared
character by character, Latin text word by word in any order, and names that read the same in
pinyin (晨光 / 辰光, 华为 / Huawei) score high. ``blocking_keys`` gives the short keys that
similar names share, so that a scan compares a name with a few others, not with all of them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from rapidfuzz import fuzz, process

#: The default score (0–100) from which two names count as similar.
NAME_THRESHOLD: float = 90.0

#: The score of two different names that read the same in pinyin (晨光 / 辰光).
PINYIN_EQUAL_SCORE: float = 95.0

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
_CJK_RE = re.compile(f"[{_CJK}]")
# Words: runs of CJK characters or of other letters and digits; everything else separates.
_WORD_RE = re.compile(f"[{_CJK}]+|[^\\W_{_CJK}]+")

# Chinese legal forms, longest first; removed repeatedly from the end of the name
# ("某某集团股份有限公司" → "某某").
_CJK_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "责任有限公司",
    "有限公司",
    "分公司",
    "总公司",
    "子公司",
    "公司",
    "集团",
    "股份",
    "有限",
)
# Latin legal forms as whole words (after case folding and punctuation removal); removed
# repeatedly from the end ("Acme Holdings Co., Ltd." → "acme holdings").
_LATIN_SUFFIXES = frozenset(
    {
        "co",
        "company",
        "ltd",
        "limited",
        "inc",
        "incorporated",
        "llc",
        "llp",
        "lp",
        "plc",
        "gmbh",
        "mbh",
        "ag",
        "kg",
        "corp",
        "corporation",
        "sa",
        "sarl",
        "sas",
        "srl",
        "spa",
        "bv",
        "nv",
        "oy",
        "ab",
        "as",
        "pte",
        "pty",
        "kk",
        "group",
    }
)
# Place names that often open a Chinese company name ("上海…", "北京…"): a blocking key is also
# made from the name without them, so that "上海" alone never puts a whole city in one block.
_PLACES = (
    "北京",
    "上海",
    "天津",
    "重庆",
    "广州",
    "深圳",
    "杭州",
    "南京",
    "苏州",
    "成都",
    "武汉",
    "西安",
    "长沙",
    "郑州",
    "青岛",
    "厦门",
    "宁波",
    "无锡",
    "沈阳",
    "大连",
    "济南",
    "合肥",
    "福州",
    "昆明",
    "哈尔滨",
    "长春",
    "石家庄",
    "太原",
    "南昌",
    "南宁",
    "贵阳",
    "兰州",
    "海口",
    "香港",
    "澳门",
    "台湾",
    "中国",
    "广东",
    "江苏",
    "浙江",
    "山东",
    "河南",
    "河北",
    "湖南",
    "湖北",
    "四川",
    "福建",
    "安徽",
    "辽宁",
    "吉林",
    "黑龙江",
    "江西",
    "山西",
    "陕西",
    "云南",
    "贵州",
    "广西",
    "海南",
    "甘肃",
    "青海",
    "宁夏",
    "新疆",
    "西藏",
    "内蒙古",
)
_PLACE_RE = re.compile("^(?:" + "|".join(sorted(_PLACES, key=len, reverse=True)) + ")(?:省|市|自治区)?")


def has_cjk(text: str) -> bool:
    return bool(_CJK_RE.search(text or ""))


@lru_cache(maxsize=100_000)
def _words(text: str) -> tuple[str, ...]:
    """The words of a name, case-folded, legal-form suffixes removed from the end. A name that
    is nothing but a legal form ("有限公司") keeps it: an empty name matches nothing."""
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    words = _WORD_RE.findall(folded)
    if not words:
        return ()
    stripped = list(words)
    while stripped:
        last = stripped[-1]
        if last in _LATIN_SUFFIXES:
            stripped.pop()
            continue
        for suffix in _CJK_SUFFIXES:
            if last.endswith(suffix) and has_cjk(last):
                rest = last[: -len(suffix)]
                if rest:
                    stripped[-1] = rest
                else:
                    stripped.pop()
                break
        else:
            break
    return tuple(stripped) or tuple(words)


def normalize_name(text: str) -> str:
    """NFKC, case-folded, without spaces, punctuation and legal-form suffixes:
    "上海晨光科技有限公司" → "上海晨光科技", "Acme Widgets Co., Ltd." → "acmewidgets"."""
    return "".join(_words(text))


@cache
def _pinyin() -> Any:
    import pypinyin

    return pypinyin.core.Pinyin()


@lru_cache(maxsize=30_000)
def _char_syllable(char: str) -> str:
    from pypinyin import Style

    return "".join(_pinyin().lazy_pinyin(char, style=Style.NORMAL, errors="default"))


@lru_cache(maxsize=100_000)
def _syllables(normalized: str) -> tuple[str, ...]:
    # Character by character (each character's most common reading), cached per character:
    # ~20× faster than pypinyin's phrase segmentation, which a scan of 100,000 names felt. Both
    # names of a comparison are read the same way, so equality in pinyin is not affected; only
    # a few phrases read otherwise in context (重庆 gives "zhongqing").
    return tuple(_char_syllable(char) if has_cjk(char) else char for char in _tokens(normalized))


_TOKEN_RE = re.compile(f"[{_CJK}]|[^{_CJK}]+")


def _tokens(text: str) -> list[str]:
    """CJK characters one by one, other runs of text whole."""
    return _TOKEN_RE.findall(text)


def pinyin_key(text: str) -> str:
    """The toneless pinyin of the normalized name, each character read the most common way
    ("上海晨光科技有限公司" → "shanghaichenguangkeji"); Latin letters and digits unchanged."""
    normalized = normalize_name(text)
    if not has_cjk(normalized):
        return normalized
    return "".join(_syllables(normalized))


def pinyin_initials(text: str) -> str:
    """The first letter of each syllable ("晨光科技" → "cgkj"); Latin words by their first letter."""
    normalized = normalize_name(text)
    if not has_cjk(normalized):
        return "".join(word[:1] for word in _words(text))
    return "".join(syllable[:1] for syllable in _syllables(normalized))


@dataclass(frozen=True, slots=True)
class NameForms:
    """The forms of one name that scoring compares: the normalized name, its words sorted (for
    Latin names in another order) and its pinyin."""

    normalized: str
    sorted_words: str
    pinyin: str


@lru_cache(maxsize=100_000)
def name_forms(text: str) -> NameForms:
    words = _words(text)
    normalized = "".join(words)
    pinyin = "".join(_syllables(normalized)) if has_cjk(normalized) else normalized
    return NameForms(normalized=normalized, sorted_words=" ".join(sorted(words)), pinyin=pinyin)


def forms_score(a: NameForms, b: NameForms) -> float:
    """``name_score`` of two names already turned into their forms (the finder keeps them)."""
    if not a.normalized or not b.normalized:
        return 0.0
    if a.normalized == b.normalized:
        return 100.0
    # fuzz.ratio compares CJK text character by character; the sorted words catch Latin names
    # written in another order ("Widgets Acme" / "Acme Widgets").
    score = max(fuzz.ratio(a.normalized, b.normalized), fuzz.ratio(a.sorted_words, b.sorted_words))
    if a.pinyin == b.pinyin:
        score = max(score, PINYIN_EQUAL_SCORE)
    return round(float(score), 1)


def name_score(a: str, b: str) -> float:
    """How alike two names are, 0–100 (100: the same name once normalized; 0 if either is empty).

    Symmetric. The best of: the character-level similarity of the normalized names (for CJK
    a character is a unit), the similarity of their words in sorted order, and
    ``PINYIN_EQUAL_SCORE`` when the two read the same in pinyin."""
    return forms_score(name_forms(a), name_forms(b))


def strip_place(normalized: str) -> str:
    """A normalized Chinese name without the place name it opens with ("上海晨光" → "晨光")."""
    rest = _PLACE_RE.sub("", normalized, count=1)
    return rest or normalized


def blocking_keys(name: str) -> set[str]:
    """Short keys that similar names share: the first and the last three characters of the
    normalized name (four for Latin text), the first three without a leading place name, and
    the first four letters of its words in sorted order. Two names that score at least
    ``NAME_THRESHOLD`` by their characters differ in few of them, so they share the start or the
    end; a scan compares only names with a common key (names that read the same in pinyin are
    found by their pinyin, not by these keys)."""
    forms = name_forms(name)
    normalized = forms.normalized
    if not normalized:
        return set()
    width = 3 if has_cjk(normalized[:3]) else 4
    keys = {"p:" + normalized[:width], "e:" + normalized[-width:]}
    if has_cjk(normalized):
        keys.add("p:" + strip_place(normalized)[:width])
    else:
        keys.add("w:" + forms.sorted_words.replace(" ", "")[:width])
    return keys


class NameIndex:
    """Names to match new names against (an import's existing records and earlier rows), each
    with a reference, optionally within a parent (a contact's customer). ``best`` answers the
    reference of the most similar name scoring at least ``threshold`` by ``forms_score``: an
    equal normalized name or pinyin by dictionary lookup, similar names among those sharing a
    blocking key with rapidfuzz's C loop over the whole block — no cap on a block's size, so the
    answer does not depend on the order the names came in."""

    @dataclass(slots=True)
    class _Block:
        refs: list[Any]
        normalized: list[str]
        sorted_words: list[str]

    def __init__(self, threshold: float = NAME_THRESHOLD) -> None:
        self.threshold = threshold
        self._exact: dict[tuple[Any, str], Any] = {}
        self._pinyin: dict[tuple[Any, str], Any] = {}
        self._blocks: dict[tuple[Any, str], NameIndex._Block] = {}

    def add(self, ref: Any, name: str, parent: Any = None) -> None:
        forms = name_forms(name)
        if not forms.normalized:
            return
        self._exact.setdefault((parent, forms.normalized), ref)
        self._pinyin.setdefault((parent, forms.pinyin), ref)
        for key in blocking_keys(name):
            block = self._blocks.get((parent, key))
            if block is None:
                block = self._blocks[(parent, key)] = NameIndex._Block([], [], [])
            block.refs.append(ref)
            block.normalized.append(forms.normalized)
            block.sorted_words.append(forms.sorted_words)

    def best(self, name: str, parent: Any = None) -> Any:
        forms = name_forms(name)
        if not forms.normalized:
            return None
        exact = self._exact.get((parent, forms.normalized))
        if exact is not None:
            return exact
        best, best_score = None, self.threshold - 0.05  # forms_score rounds to one decimal
        if self.threshold <= PINYIN_EQUAL_SCORE:
            best = self._pinyin.get((parent, forms.pinyin))
            if best is not None:
                best_score = PINYIN_EQUAL_SCORE
        for key in blocking_keys(name):
            block = self._blocks.get((parent, key))
            if block is None:
                continue
            for query, choices in ((forms.normalized, block.normalized), (forms.sorted_words, block.sorted_words)):
                hit = process.extractOne(query, choices, scorer=fuzz.ratio, score_cutoff=best_score)
                if hit is not None and hit[1] > best_score:
                    best, best_score = block.refs[hit[2]], hit[1]
        return best
