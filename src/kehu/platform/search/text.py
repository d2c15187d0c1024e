"""Text analysis for the search index: Chinese to pinyin (pypinyin), the short terms that
answer one- and two-character queries, and the parsing of what people type."""

from __future__ import annotations

import operator
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.utils.translation import gettext as _

MAX_QUERY_LENGTH = 200
FIELD_TEXT_LIMIT = 10_000  # characters of one field that go into the index

# Han (with extensions and compatibility ideographs), kana and hangul: scripts written without
# spaces between words, indexed as characters and pairs of characters.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
_CJK_RE = re.compile(f"[{_CJK}]")
_RUN_RE = re.compile(f"(?P<cjk>[{_CJK}]+)|(?P<word>[^\\W_{_CJK}]+)")
_NOT_ALNUM_RE = re.compile(r"[^a-z0-9]+")


def normalize(text: str) -> str:
    """Lower case, one space between words, full-width letters and digits as ASCII (NFKC)."""
    return " ".join(unicodedata.normalize("NFKC", text or "").lower().split())


def has_cjk(text: str) -> bool:
    return bool(_CJK_RE.search(text or ""))


@cache
def _pinyin() -> Any:
    """pypinyin's converter (loading its dictionaries takes ~0.3 s: only when first needed)."""
    import pypinyin

    return pypinyin.core.Pinyin()


@lru_cache(maxsize=50_000)
def _segment_pinyin(segment: str) -> tuple[str, ...]:
    """The syllables of one segment; other text comes back as written, marked with NUL.
    Converting segment by segment (as pypinyin does) with a cache makes a rebuild ~5× faster:
    the segments of names and company names repeat."""
    from pypinyin import Style

    return tuple(_pinyin().lazy_pinyin([segment], style=Style.NORMAL, errors=lambda other: ["\x00" + other]))


def pinyin_keys(text: str) -> list[str]:
    """The pinyin a Chinese ``text`` is found by: full pinyin without tones and initials, of
    the whole text and of each of its words (``张三 李四`` → ``zhangsanlisi zsls zhangsan zs
    lisi ls``). Each character gets its most common reading (no heteronyms). Letters and
    digits in the text stay as they are; text without Chinese gives nothing."""
    if not has_cjk(text):
        return []
    return list(_pinyin_keys(" ".join(text.split())))


@cache
def _hans_runs() -> re.Pattern[str]:
    """Runs of the characters pypinyin gives a reading (its ``RE_HANS`` class) and the text
    between them: how its segmenter splits a text before cutting the Chinese runs in words."""
    from pypinyin.constants import RE_HANS

    characters = RE_HANS.pattern.removeprefix("^(?:").removesuffix(")+$")
    return re.compile(f"({characters}+)")


@lru_cache(maxsize=50_000)
def _run_segments(run: str) -> tuple[str, ...]:
    """pypinyin's words of one Chinese run (``Pinyin.seg`` of the run alone): company names
    share their runs ("科技有限公司") while the whole names differ."""
    return tuple(_pinyin().seg(run))


def _segments(text: str) -> list[str]:
    """``Pinyin.seg(text)``, with the segmenting of each Chinese run cached: the segmenter
    splits the text into Chinese and other runs and cuts each Chinese run on its own."""
    segments: list[str] = []
    for position, part in enumerate(_hans_runs().split(text)):
        if position % 2:
            segments.extend(_run_segments(part))
        elif part:
            segments.append(part)
    return segments


@lru_cache(maxsize=20_000)
def _pinyin_keys(text: str) -> tuple[str, ...]:
    # One syllable per Chinese character; other text comes back as written, marked.
    items = [item for segment in _segments(text) for item in _segment_pinyin(segment)]
    words: list[list[tuple[str, bool]]] = [[]]
    for item in items:
        if not item.startswith("\x00"):
            words[-1].append((item, True))
            continue
        for piece in re.split(r"(\s+)", item[1:]):
            if piece.isspace():
                words.append([])
            elif piece:
                words[-1].append((piece, False))
    words = [word for word in words if word]
    keys: dict[str, None] = {}
    for group in [[syllable for word in words for syllable in word], *(words if len(words) > 1 else [])]:
        if not any(chinese for _piece, chinese in group):
            continue
        full = "".join(piece for piece, _chinese in group)
        initials = "".join(piece[:1] if chinese else piece for piece, chinese in group)
        for key in (full, initials):
            cleaned = _NOT_ALNUM_RE.sub("", key.lower())
            if cleaned:
                keys[cleaned] = None
    return tuple(keys)


def short_terms(texts: Iterable[str]) -> list[str]:
    """The terms that answer one- and two-character queries: each CJK character and pair of
    neighbouring characters, and the first one and two characters of each other word."""
    terms: set[str] = set()
    for text in texts:
        for run in _RUN_RE.finditer(text.lower()):
            value = run.group()
            if run.lastgroup == "cjk":
                terms.update(value)
                terms.update(map(operator.add, value, value[1:]))
            else:
                terms.add(value[:1])
                terms.add(value[:2])
    return sorted(terms)


def clean(value: Any) -> str:
    """Text as it goes into the index: NFKC (full-width ＡＢＣ１２３ as ABC123), one space between
    words, at most ``FIELD_TEXT_LIMIT`` characters."""
    return " ".join(unicodedata.normalize("NFKC", str(value)).split())[:FIELD_TEXT_LIMIT]


@dataclass(frozen=True)
class Query:
    text: str  # lower case, single spaces
    phrases: tuple[str, ...]  # words of three characters or more: substrings
    terms: tuple[str, ...]  # words of one or two characters: short terms
    raw: str

    @property
    def empty(self) -> bool:
        return not self.phrases and not self.terms

    @property
    def needles(self) -> list[str]:
        return [*self.phrases, *self.terms]


def parse_query(text: str) -> Query:
    """Check and split what the user typed. Raises ValidationError (field ``q``)."""
    raw = " ".join((text or "").split())
    if not raw:
        raise ValidationError({"q": _("Type something to search for.")})
    if "\x00" in raw:
        raise ValidationError({"q": ProhibitNullCharactersValidator.message})
    if len(raw) > MAX_QUERY_LENGTH:
        raise ValidationError({"q": _("Search for at most %(count)d characters.") % {"count": MAX_QUERY_LENGTH}})
    phrases: dict[str, None] = {}
    terms: dict[str, None] = {}
    for word in normalize(raw).split():
        if len(word) >= 3:
            phrases[word] = None
        else:
            terms.update(dict.fromkeys(run.group() for run in _RUN_RE.finditer(word)))
    return Query(normalize(raw), tuple(phrases), tuple(terms), raw)
