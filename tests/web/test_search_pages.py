"""The global search in the header (htmx, as you type) and on its page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=True)  # the index follows commits


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_header_results_are_grouped_by_type_with_counts_and_links(
    rep: Any, make_customer: Any, make_contact: Any
) -> None:
    firm = make_customer(rep, name="张三科技")
    make_contact(rep, firm, name="张三")

    response = logged_in(rep).get("/search/", {"q": "zs"}, HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body  # the fragment only
    assert 'data-type="customer"' in body
    assert 'data-type="contact"' in body
    assert f'href="/customers/{firm.pk}/"' in body
    assert body.count("data-kehu-search-result") == 2
    assert '<span class="badge bg-secondary-lt" data-testid="search-count">1</span>' in body


def test_header_shows_a_few_per_type_and_links_to_all_of_them(rep: Any, make_customer: Any) -> None:
    for i in range(10):
        make_customer(rep, name=f"天行 {i}")
    client = logged_in(rep)

    header = client.get("/search/", {"q": "天行"}, HTTP_HX_REQUEST="true")
    assert len(header.context["groups"][0].hits) == 8
    assert "/search/?q=%E5%A4%A9%E8%A1%8C&amp;type=customer" in header.content.decode()

    page = client.get("/search/", {"q": "天行", "type": "customer"})
    assert page.status_code == 200
    assert len(page.context["groups"][0].hits) == 10
    assert 'name="type" value="customer"' in page.content.decode()


def test_nothing_found_says_so(rep: Any) -> None:
    response = logged_in(rep).get("/search/", {"q": "nothing here"}, HTTP_HX_REQUEST="true")
    assert "Nothing found for “nothing here”." in response.content.decode()


def test_bad_input_is_shown_inline(rep: Any) -> None:
    client = logged_in(rep)

    too_long = client.get("/search/", {"q": "x" * 300})
    assert too_long.status_code == 200
    assert "Search for at most 200 characters." in too_long.content.decode()

    unknown = client.get("/search/", {"q": "acme", "type": "planet"})
    assert "Unknown record type planet" in unknown.content.decode()


def test_other_teams_records_are_not_in_the_results(rep: Any, other_rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Acme East")
    make_customer(other_rep, name="Acme South")

    body = logged_in(rep).get("/search/", {"q": "acme"}).content.decode()

    assert "Acme East" in body
    assert "Acme South" not in body


def test_search_needs_a_login() -> None:
    response = Client().get("/search/", {"q": "acme"})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_list_search_finds_chinese_names_by_pinyin_and_records_by_their_tags(rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="张三贸易", tags=["展会"])
    make_customer(rep, name="李四物流")
    client = Client()
    client.force_login(rep)

    assert "张三贸易" in client.get("/customers/?q=zhangsan").content.decode()
    assert "李四物流" not in client.get("/customers/?q=zs").content.decode()
    assert "张三贸易" in client.get("/customers/?q=zs").content.decode()
    by_tag = client.get("/customers/?q=展会").content.decode()
    assert "张三贸易" in by_tag
    assert "李四物流" not in by_tag
