"""A record page's related lists are tabs fetched when opened: the page holds their counts,
each tab its newest rows, with the same visibility as the lists."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.django_db


def test_page_counts_each_related_list_and_the_tab_shows_its_rows(
    rep: Any, make_customer: Any, make_contact: Any, web_as: Any
) -> None:
    customer = make_customer(rep, name="Acme")
    for name in ("Han Meimei", "Li Lei", "王芳"):
        make_contact(rep, customer, name=name)
    client = web_as(rep)
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert re.search(r'data-testid="tab-contacts"[^>]*>Contacts <span[^>]*>3<', page, re.S)
    tab = client.get(f"/customers/{customer.pk}/related/contacts/")
    assert tab.status_code == 200
    body = tab.content.decode()
    assert all(name in body for name in ("Han Meimei", "Li Lei", "王芳"))
    assert f"/contacts/new/?customer={customer.pk}&amp;next=/customers/{customer.pk}/" in body


def test_tab_of_another_teams_record_is_not_found(rep: Any, other_rep: Any, make_customer: Any, web_as: Any) -> None:
    theirs = make_customer(other_rep, name="Southern Ltd")
    assert web_as(rep).get(f"/customers/{theirs.pk}/related/contacts/").status_code == 404


def test_unknown_related_list_is_not_found(rep: Any, make_customer: Any, web_as: Any) -> None:
    customer = make_customer(rep, name="Acme")
    client = web_as(rep)
    assert client.get(f"/customers/{customer.pk}/related/customers/").status_code == 404
    assert client.get(f"/customers/{customer.pk}/related/nothing/").status_code == 404


def test_related_list_the_user_may_not_view_is_neither_a_tab_nor_fetchable(
    rep: Any, make_customer: Any, web_as: Any
) -> None:
    from django.contrib.auth.models import Permission

    customer = make_customer(rep, name="Acme")
    rep.role.permissions.remove(Permission.objects.get(codename="view_interaction"))
    client = web_as(rep)
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert 'data-testid="tab-interactions"' not in page
    assert 'data-testid="tab-contacts"' in page
    assert client.get(f"/customers/{customer.pk}/related/interactions/").status_code == 403
