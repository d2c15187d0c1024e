"""Links to other records in forms and filter panels: a plain select over a few records, a
search box over the records the user may see past ``PICKER_LIMIT`` (a select of every customer
was a page of 100,000 options at scale)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from kehu.customers.models import Contact
from kehu.platform import widgets

pytestmark = pytest.mark.django_db


def select_of(html: str, name: str) -> str:
    found = re.search(rf'<select name="{name}"[^>]*>.*?</select>', html, re.S)
    assert found, f"no select {name}"
    return found.group(0)


def test_a_few_customers_are_listed_in_a_plain_select(rep: Any, make_customer: Any, web_as: Any) -> None:
    for name in ("Alpha Co", "Beta Co"):
        make_customer(rep, name=name)
    select = select_of(web_as(rep).get("/contacts/new/").content.decode(), "customer")
    assert "data-kehu-picker" not in select
    assert "Alpha Co" in select
    assert "Beta Co" in select


def test_past_the_limit_the_form_holds_only_the_chosen_customer_and_a_lookup(
    rep: Any, make_customer: Any, monkeypatch: Any, web_as: Any
) -> None:
    monkeypatch.setattr(widgets, "PICKER_LIMIT", 2)
    chosen, *others = [make_customer(rep, name=f"Firm {i}") for i in range(4)]
    client = web_as(rep)
    select = select_of(client.get(f"/contacts/new/?customer={chosen.pk}").content.decode(), "customer")
    assert 'data-kehu-picker="/customers/lookup/"' in select
    assert re.search(rf'<option value="{chosen.pk}" selected>[^<]*Firm 0</option>', select)
    assert not any(other.name in select for other in others)
    assert select.count("<option") == 2  # the empty choice and the chosen one
    # any visible customer is still accepted, though not listed
    response = client.post("/contacts/new/", {"customer": others[-1].pk, "name": "王经理"})
    assert response.status_code == 302
    assert Contact.objects.get(name="王经理").customer == others[-1]


def test_past_the_limit_another_teams_customer_is_still_refused(
    rep: Any, other_rep: Any, make_customer: Any, monkeypatch: Any, web_as: Any
) -> None:
    monkeypatch.setattr(widgets, "PICKER_LIMIT", 1)
    make_customer(rep, name="Mine 1")
    make_customer(rep, name="Mine 2")
    hidden = make_customer(other_rep, name="Hidden Co")
    client = web_as(rep)
    assert "Hidden Co" not in client.get(f"/contacts/new/?customer={hidden.pk}").content.decode()
    response = client.post("/contacts/new/", {"customer": hidden.pk, "name": "Sneaky"})
    assert response.status_code == 422
    assert not Contact.objects.filter(name="Sneaky").exists()


def test_filter_panel_past_the_limit_searches_and_keeps_the_filtered_customer(
    rep: Any, make_customer: Any, monkeypatch: Any, web_as: Any
) -> None:
    monkeypatch.setattr(widgets, "PICKER_LIMIT", 2)
    firms = [make_customer(rep, name=f"Firm {i}") for i in range(4)]
    html = web_as(rep).get(f"/contacts/filters/?customer={firms[2].pk}").content.decode()
    select = select_of(html, "customer")
    assert "data-kehu-picker" in select
    assert re.search(rf'<option value="{firms[2].pk}" selected>', select)
    assert "Firm 3" not in select


def test_lookup_finds_visible_records_by_name_fragment_only(
    rep: Any, other_rep: Any, make_customer: Any, web_as: Any
) -> None:
    mine = make_customer(rep, name="宁波海天贸易")
    make_customer(rep, name="Other Trading")
    make_customer(other_rep, name="宁波东方贸易")
    response = web_as(rep).get("/customers/lookup/", {"q": "宁波"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["id"] for r in results] == [mine.pk]
    assert results[0]["number"] == mine.number
    assert "宁波海天贸易" in results[0]["text"]


def test_lookup_without_a_query_offers_the_first_records_up_to_the_limit(
    rep: Any, make_customer: Any, web_as: Any
) -> None:
    from kehu.platform import selectors

    for i in range(selectors.LOOKUP_LIMIT + 3):
        make_customer(rep, name=f"Firm {i:02d}")
    results = web_as(rep).get("/customers/lookup/").json()["results"]
    assert len(results) == selectors.LOOKUP_LIMIT


def test_lookup_needs_a_login_and_refuses_a_bad_query_with_a_message(rep: Any, make_customer: Any, web_as: Any) -> None:
    make_customer(rep, name="Firm")
    assert Client().get("/customers/lookup/?q=F").status_code == 302
    response = web_as(rep).get("/customers/lookup/", {"q": "a\x00b"})
    assert response.status_code == 400
    assert response.json()["detail"]
