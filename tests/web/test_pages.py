"""Home, global search, the audit log and the language switch."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_home_counts_only_visible_records(rep: Any, other_rep: Any, make_customer: Any, make_user: Any) -> None:
    make_customer(rep, name="Mine")
    make_customer(other_rep, name="Theirs")
    lead = make_user("lead", "manager", "East sales")  # sales users get My day as their home page
    response = logged_in(lead).get("/")
    card = next(c for c in response.context["cards"] if c["rt"].key == "customer")
    assert card["count"] == 1


def test_global_search_finds_customers_and_contacts_the_user_may_see(
    rep: Any, other_rep: Any, make_customer: Any, make_contact: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # the search index follows commits
        mine = make_customer(rep, name="张三科技", phone="+8613812345678")
        make_contact(rep, mine, name="张三")
        make_customer(other_rep, name="张三贸易")
    client = logged_in(rep)
    response = client.get("/search/?q=张三", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "张三科技" in body
    assert "张三贸易" not in body
    groups = {g.rt.key: [hit.title for hit in g.hits] for g in response.context["groups"]}
    assert groups == {"customer": ["张三科技"], "contact": ["张三"]}
    by_phone = client.get("/search/?q=138 1234 5678")
    assert "张三科技" in by_phone.content.decode()


def test_audit_log_is_for_admins_only(admin_user: Any, rep: Any, make_customer: Any) -> None:
    make_customer(rep, name="Audited Ltd")
    assert logged_in(rep).get("/audit/").status_code == 403
    response = logged_in(admin_user).get("/audit/?action=create")
    assert response.status_code == 200
    assert "Audited Ltd" in response.content.decode()


def test_manager_can_read_audit_log(make_user: Any) -> None:
    manager = make_user("mgr", "manager", "East sales")
    assert logged_in(manager).get("/audit/").status_code == 200


def test_language_switch_keeps_the_session_and_translates_pages(rep: Any) -> None:
    client = logged_in(rep)
    response = client.post("/settings/language/", {"language": "zh-hans", "next": "/customers/"})
    assert response.status_code == 302
    rep.refresh_from_db()
    assert rep.language == "zh-hans"
    page = client.get("/customers/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "导出 CSV" in body
    assert "回收站" in body
    assert "退出登录" in body
    assert "Export CSV" not in body
    client.post("/settings/language/", {"language": "en", "next": "/customers/"})
    body = client.get("/customers/").content.decode()
    assert "Export CSV" in body
    assert "导出 CSV" not in body


def test_language_switch_ignores_unsafe_next_url(rep: Any) -> None:
    response = logged_in(rep).post("/settings/language/", {"language": "en", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_api_docs_page_loads_its_assets_from_kehu_not_a_cdn(rep: Any) -> None:
    response = logged_in(rep).get("/api/v1/docs")
    assert response.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', response.content.decode())
    assert any(source.endswith("swagger-ui-bundle.js") for source in sources)
    assert all(source.startswith("/") for source in sources), sources
