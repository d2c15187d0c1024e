"""kehu.dataio.matching: normalization, pinyin, scores and blocking keys."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kehu.dataio.matching import (
    NAME_THRESHOLD,
    NameIndex,
    blocking_keys,
    name_score,
    normalize_name,
    pinyin_key,
)

name_score("上海晨光", "Huawei")  # load pypinyin's dictionaries once, outside hypothesis' deadlines

CJK_CORE = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
cjk_names = st.text(CJK_CORE, min_size=2, max_size=12)
any_names = st.text(min_size=1, max_size=30)
LEGAL_FORMS = ["有限公司", "股份有限公司", "有限责任公司", "集团有限公司", "集团", "公司"]
LATIN_FORMS = ["Co., Ltd.", "Inc.", "LLC", "GmbH", "Corp.", "Limited", "Ltd"]


@given(any_names, any_names)
def test_name_score_is_symmetric(a: str, b: str) -> None:
    assert name_score(a, b) == name_score(b, a)


@given(any_names, any_names)
def test_name_score_is_between_0_and_100(a: str, b: str) -> None:
    assert 0 <= name_score(a, b) <= 100


@given(any_names)
def test_a_name_scores_100_with_itself_when_it_has_letters(name: str) -> None:
    if normalize_name(name):
        assert name_score(name, name) == 100
    else:
        assert name_score(name, name) == 0


@given(cjk_names, st.sampled_from(LEGAL_FORMS))
def test_chinese_legal_form_suffix_does_not_change_the_match(core: str, form: str) -> None:
    assume(normalize_name(core + "有限公司") == core)  # a core that is itself a legal form ("股份") is no name
    assert name_score(core + form, core) >= NAME_THRESHOLD


@given(
    st.text(st.characters(min_codepoint=ord("a"), max_codepoint=ord("z")), min_size=3, max_size=12),
    st.sampled_from(LATIN_FORMS),
)
def test_latin_legal_form_suffix_does_not_change_the_match(core: str, form: str) -> None:
    assume(normalize_name(f"{core} Inc.") == core)  # a core that is itself a legal form ("ltd") is no name
    assert name_score(f"{core.title()} {form}", core) >= NAME_THRESHOLD


@given(cjk_names, cjk_names)
@settings(max_examples=200)
def test_beijing_and_nanjing_companies_with_different_names_are_not_similar(a: str, b: str) -> None:
    if len(set(a) & set(b)) > 1:
        return  # "otherwise different" names only
    assert name_score(f"北京{a}有限公司", f"南京{b}有限公司") < NAME_THRESHOLD


@given(st.text(CJK_CORE, min_size=10, max_size=20), st.integers(min_value=0), CJK_CORE)
def test_similar_names_share_a_blocking_key(core: str, position: int, other: str) -> None:
    assume(normalize_name(core) == core)
    changed = core[: position % len(core)] + other + core[position % len(core) + 1 :]
    assume(name_score(core, changed) >= NAME_THRESHOLD)
    assert blocking_keys(f"上海{core}有限公司") & blocking_keys(f"上海{core}")
    assert blocking_keys(core) & blocking_keys(changed)


def test_normalize_name_removes_case_width_punctuation_and_legal_forms() -> None:
    assert normalize_name("上海晨光科技有限公司") == "上海晨光科技"
    assert normalize_name("晨光（上海）集团股份有限公司") == "晨光上海"
    assert normalize_name("ＡＣＭＥ  Widgets Co., Ltd.") == "acmewidgets"
    assert normalize_name("Müller GmbH") == "müller"
    assert normalize_name("有限公司") == "有限公司"  # nothing but a legal form: kept
    assert normalize_name("  ") == ""


def test_pinyin_key_is_toneless_and_keeps_latin_text() -> None:
    assert pinyin_key("上海晨光科技有限公司") == "shanghaichenguangkeji"
    assert pinyin_key("Acme Ltd") == "acme"


def test_pinyin_equal_names_score_high() -> None:
    assert name_score("晨光科技", "辰光科技") >= NAME_THRESHOLD
    assert name_score("华为", "Huawei") >= NAME_THRESHOLD


def test_similar_and_different_names() -> None:
    assert name_score("Widgets Acme Inc", "Acme Widgets") >= NAME_THRESHOLD
    assert name_score("深圳市腾达电子科技有限公司", "深圳市腾达电子科技公司") == 100
    assert name_score("王伟", "王涛") < NAME_THRESHOLD
    assert name_score("北京晨光科技", "南京晨光科技") < NAME_THRESHOLD
    assert name_score("", "Acme") == 0


def test_name_index_finds_a_similar_name_in_a_block_of_any_size() -> None:
    index = NameIndex()
    names = [f"双敏电子科技有限公司{number}" for number in range(5000)]
    for ref, name in enumerate(names):
        index.add(ref, name)
    assert index.best("双敏电子科技有限公司67") == 67  # equal
    found = index.best("双敏电子科技有限公司4967")
    assert found is not None
    assert name_score(names[found], "双敏电子科技有限公司4967") >= NAME_THRESHOLD
    assert index.best("晨光贸易") is None


def test_name_index_keeps_parents_apart_and_finds_equal_pinyin() -> None:
    index = NameIndex()
    index.add("a", "李伟", parent=1)
    assert index.best("李伟", parent=2) is None
    assert index.best("李伟", parent=1) == "a"
    index.add("b", "张三贸易")
    assert index.best("章三贸易") == "b"  # reads zhangsanmaoyi too


@given(st.lists(cjk_names, min_size=1, max_size=30), cjk_names)
@settings(max_examples=60)
def test_name_index_answers_like_the_pairwise_score(names: list[str], query: str) -> None:
    index = NameIndex()
    for ref, name in enumerate(names):
        index.add(ref, name)
    found = index.best(query)
    sharing = [n for n in names if blocking_keys(n) & blocking_keys(query)]
    if found is not None:
        assert name_score(names[found], query) >= NAME_THRESHOLD
    elif any(name_score(n, query) >= NAME_THRESHOLD for n in sharing):
        raise AssertionError("a similar name sharing a key was missed")
