"""Notifications: created in bulk, read by their recipient only, on the web (bell, page,
opening one) and through /api/v1/notifications/."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from kehu.automation import selectors, services
from kehu.automation.models import Notification
from kehu.platform.errors import NotVisible
from tests.api.support import ApiClient, assert_problem

pytestmark = pytest.mark.django_db


def _notify(user: Any, title: str = "Hello", **kwargs: Any) -> Notification:
    kwargs.setdefault("kind", "test")
    return services.notify([user], title=title, **kwargs)[0]


# ---------------------------------------------------------------- services and selectors


def test_notify_creates_one_notification_per_distinct_recipient_in_one_query(
    rep: Any, other_rep: Any, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        created = services.notify([rep, other_rep, rep.pk], kind="test", title="Hi", body="b", url="/x/")
    assert sorted(n.recipient_id for n in created) == sorted([rep.pk, other_rep.pk])
    assert selectors.unread_count(rep) == 1
    assert selectors.unread_count(other_rep) == 1


def test_notify_keeps_the_record_it_is_about(rep: Any, make_customer: Any) -> None:
    customer = make_customer(rep)
    notification = _notify(rep, record=customer)
    assert (notification.record_type, notification.record_id) == ("customer", customer.pk)
    assert _notify(rep, record=("task", 7)).record_type == "task"


def test_mark_read_and_mark_all_read_change_only_the_users_own(rep: Any, other_rep: Any) -> None:
    first, _second = _notify(rep, "one"), _notify(rep, "two")
    theirs = _notify(other_rep, "theirs")
    services.notification_mark_read(rep, first)
    assert selectors.unread_count(rep) == 1
    assert services.notifications_mark_all_read(rep) == 1
    assert selectors.unread_count(rep) == 0
    assert selectors.unread_count(other_rep) == 1
    with pytest.raises(NotVisible):
        services.notification_mark_read(rep, theirs)
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_a_user_never_gets_someone_elses_notification(rep: Any, other_rep: Any) -> None:
    theirs = _notify(other_rep)
    assert list(selectors.notifications_for(rep)) == []
    with pytest.raises(NotVisible):
        selectors.notification_get(rep, theirs.pk)


# ---------------------------------------------------------------- web


def test_navbar_shows_the_bell_with_the_unread_count(rep: Any, logged_in: Any) -> None:
    for title in ("one", "two", "three"):
        _notify(rep, title)
    response = logged_in(rep).get("/notifications/")
    html = response.content.decode()
    assert 'data-testid="notification-bell"' in html
    assert 'data-testid="notification-count">3<' in html
    assert 'hx-get="/notifications/menu/"' in html
    assert 'hx-trigger="every 60s"' in html
    assert reverse("calendar_settings") in html  # the user menu item


def test_the_bell_menu_lists_only_own_notifications_and_refreshes_the_badge(
    rep: Any, other_rep: Any, logged_in: Any
) -> None:
    mine = _notify(rep, "Mine")
    _notify(other_rep, "Not yours")
    response = logged_in(rep).get("/notifications/menu/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Mine" in html
    assert "Not yours" not in html
    assert f"/notifications/{mine.pk}/open/" in html
    assert 'hx-swap-oob="true"' in html


def test_badge_partial_counts_unread(rep: Any, logged_in: Any) -> None:
    _notify(rep)
    html = logged_in(rep).get("/notifications/badge/").content.decode()
    assert 'data-unread="1"' in html


def test_opening_a_notification_marks_it_read_and_follows_its_link(rep: Any, logged_in: Any) -> None:
    notification = _notify(rep, url="/customers/")
    response = logged_in(rep).get(f"/notifications/{notification.pk}/open/")
    assert response.status_code == 302
    assert response["Location"] == "/customers/"
    notification.refresh_from_db()
    assert notification.read_at is not None


@pytest.mark.parametrize(
    "url", ["https://evil.example/phish", "//evil.example/", "javascript:alert(1)", "/\\evil.example"]
)
def test_opening_a_notification_never_redirects_off_site(rep: Any, logged_in: Any, url: str) -> None:
    notification = Notification.objects.create(recipient=rep, kind="test", title="x", url=url)
    response = logged_in(rep).get(f"/notifications/{notification.pk}/open/")
    assert response.status_code == 302
    assert response["Location"] == "/notifications/"


def test_opening_someone_elses_notification_is_404_and_leaves_it_unread(
    rep: Any, other_rep: Any, logged_in: Any
) -> None:
    theirs = _notify(other_rep, url="/customers/")
    client = logged_in(rep)
    assert client.get(f"/notifications/{theirs.pk}/open/").status_code == 404
    assert client.post(f"/notifications/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_notifications_page_lists_own_filters_unread_and_paginates(rep: Any, other_rep: Any, logged_in: Any) -> None:
    for number in range(30):
        _notify(rep, f"Note {number:02d}")
    read = _notify(rep, "Already read")
    services.notification_mark_read(rep, read)
    _notify(other_rep, "Somebody else's")
    client = logged_in(rep)
    page_one = client.get("/notifications/").content.decode()
    assert page_one.count('data-testid="notification-row"') == 25
    assert "Somebody else" not in page_one
    assert "1 / 2" in page_one
    unread = client.get("/notifications/?show=unread&page=2").content.decode()
    assert unread.count('data-testid="notification-row"') == 5
    assert "Already read" not in unread


def test_mark_all_read_on_the_page_needs_a_post_with_csrf(rep: Any, other_rep: Any) -> None:
    from django.test import Client

    _notify(rep)
    _notify(other_rep)
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    assert client.get("/notifications/read-all/").status_code == 405
    assert client.post("/notifications/read-all/").status_code == 403  # no CSRF token
    client.get("/notifications/")
    response = client.post("/notifications/read-all/", {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert response.status_code == 302
    assert selectors.unread_count(rep) == 0
    assert selectors.unread_count(other_rep) == 1


def test_notification_pages_need_login(client: Any) -> None:
    for url in ("/notifications/", "/notifications/menu/", "/notifications/badge/", "/notifications/1/open/"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


# ---------------------------------------------------------------- API


def test_api_lists_only_own_notifications_and_filters_unread(rep: Any, other_rep: Any, api_as: Any) -> None:
    first = _notify(rep, "First")
    _notify(rep, "Second")
    _notify(other_rep, "Theirs")
    services.notification_mark_read(rep, first)
    api = api_as(rep, "read")
    body = api.get("/notifications/").json()
    assert body["count"] == 2
    assert body["unread"] == 1
    assert {item["title"] for item in body["items"]} == {"First", "Second"}
    unread = api.get("/notifications/", {"unread": "true"}).json()
    assert [item["title"] for item in unread["items"]] == ["Second"]
    assert unread["items"][0]["read_at"] is None


def test_api_marks_one_and_all_read(rep: Any, other_rep: Any, api_as: Any) -> None:
    one, _two, _three = _notify(rep, "1"), _notify(rep, "2"), _notify(rep, "3")
    theirs = _notify(other_rep)
    api = api_as(rep)
    response = api.post(f"/notifications/{one.pk}/read/", {})
    assert response.status_code == 200
    assert response.json()["read_at"] is not None
    assert api.post("/notifications/read-all/", {}).json() == {"updated": 2}
    assert selectors.unread_count(rep) == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_api_someone_elses_notification_is_a_404_problem(rep: Any, other_rep: Any, api_as: Any) -> None:
    theirs = _notify(other_rep)
    assert_problem(api_as(rep).post(f"/notifications/{theirs.pk}/read/", {}), 404)
    assert_problem(api_as(rep).post("/notifications/999999/read/", {}), 404)
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_api_read_only_token_cannot_mark_read(rep: Any, api_as: Any) -> None:
    mine = _notify(rep)
    api = api_as(rep, "read")
    assert_problem(api.post(f"/notifications/{mine.pk}/read/", {}), 403)
    assert_problem(api.post("/notifications/read-all/", {}), 403)
    mine.refresh_from_db()
    assert mine.read_at is None


def test_api_needs_authentication_and_valid_parameters(rep: Any, api_as: Any) -> None:
    assert_problem(ApiClient().get("/notifications/"), 401)
    assert_problem(api_as(rep).get("/notifications/", {"limit": "0"}), 422)
    assert_problem(api_as(rep).get("/notifications/", {"unread": "maybe"}), 422)


def test_the_openapi_document_describes_the_notification_endpoints(rep: Any, api_as: Any) -> None:
    paths = api_as(rep, "read").get("/openapi.json").json()["paths"]
    assert {"/api/v1/notifications/", "/api/v1/notifications/read-all/", "/api/v1/notifications/{pk}/read/"} <= set(
        paths
    )


def test_a_logged_out_bell_stops_polling_instead_of_showing_the_login_page(client: Any) -> None:
    badge = client.get("/notifications/badge/", HTTP_HX_REQUEST="true")
    assert badge.status_code == 286  # htmx stops the poll and swaps nothing
    assert badge.content == b""
    menu = client.get("/notifications/menu/", HTTP_HX_REQUEST="true")
    assert menu.status_code == 204
    assert menu["HX-Refresh"] == "true"
