"""Pages of the automation app: the notification bell (htmx partials), the notifications
page, opening a notification, and the calendar feed with its settings page. Thin: reads
through the selectors, writes through the services."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST, require_safe

from kehu.automation import selectors, services
from kehu.automation.calendar import build_feed
from kehu.platform.context import Context
from kehu.platform.errors import NotVisible

PAGE_SIZE = 25
View = Callable[..., HttpResponse]
MENU_SIZE = 8

# ---------------------------------------------------------------- notifications


def _partial(*, poll: bool) -> Callable[[View], View]:
    """Login required for an htmx partial: a logged-out htmx request (the session expired)
    must not swap the login page into the navbar. A poll stops (286); a request the user
    made reloads the page, which then goes to the login form. Plain requests redirect."""

    def decorator(view: View) -> View:
        protected = login_required(view)

        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.user.is_authenticated or not getattr(request, "htmx", False):
                return protected(request, *args, **kwargs)
            response = HttpResponse(status=286 if poll else 204)
            if not poll:
                response["HX-Refresh"] = "true"
            return response

        return wrapper

    return decorator


def _safe_target(request: HttpRequest, url: str) -> str | None:
    """``url`` when it stays on this site, else None (no open redirects)."""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("show") == "unread"
    page = Paginator(selectors.notifications_for(request.user, unread=unread_only), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "page_obj": page,
        "notifications": page.object_list,
        "unread_only": unread_only,
        "unread_count": selectors.unread_count(request.user),
    }
    return render(request, "automation/notification_list.html", context)


@_partial(poll=False)
@require_GET
@never_cache
def notification_menu(request: HttpRequest) -> HttpResponse:
    """The bell's dropdown (loaded by htmx when it opens), with the badge swapped out of band."""
    context = {
        "notifications": list(selectors.notifications_for(request.user)[:MENU_SIZE]),
        "unread_count": selectors.unread_count(request.user),
    }
    return render(request, "automation/_notification_menu.html", context)


@_partial(poll=True)
@require_GET
@never_cache
def notification_badge(request: HttpRequest) -> HttpResponse:
    """The bell's unread badge (htmx polls it every minute)."""
    return render(
        request, "automation/_notification_badge.html", {"unread_count": selectors.unread_count(request.user)}
    )


@login_required
@require_GET
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark the notification read and follow its link (same-site links only)."""
    try:
        notification = selectors.notification_get(request.user, pk)
    except NotVisible:
        raise Http404 from None
    services.notification_mark_read(request.user, notification)
    target = _safe_target(request, notification.url)
    if target is None:
        if notification.url:
            messages.warning(request, _("This notification links to another site; it was not opened."))
        target = reverse("notification_list")
    return HttpResponseRedirect(target)


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        notification = selectors.notification_get(request.user, pk)
    except NotVisible:
        raise Http404 from None
    services.notification_mark_read(request.user, notification)
    return HttpResponseRedirect(_safe_target(request, request.POST.get("next", "")) or reverse("notification_list"))


@login_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    count = services.notifications_mark_all_read(request.user)
    if count:
        messages.success(request, _("All notifications are marked as read."))
    return HttpResponseRedirect(_safe_target(request, request.POST.get("next", "")) or reverse("notification_list"))


# ---------------------------------------------------------------- calendar feed


def _feed_url(request: HttpRequest, feed: Any) -> str:
    return request.build_absolute_uri(reverse("calendar_feed", args=[services.calendar_feed_token(feed)]))


@login_required
@require_GET
def calendar_settings(request: HttpRequest) -> HttpResponse:
    feed = services.calendar_feed_for(request.user)
    return render(request, "automation/calendar.html", {"feed_url": _feed_url(request, feed), "feed": feed})


@login_required
@require_POST
def calendar_reset(request: HttpRequest) -> HttpResponse:
    services.calendar_feed_reset(Context.from_request(request))
    messages.success(request, _("Your calendar feed has a new address; the old one no longer works."))
    return HttpResponseRedirect(reverse("calendar_settings"))


@require_safe
@never_cache
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The feed itself: no login (calendar apps cannot log in), the secret address is the key."""
    try:
        user = services.calendar_feed_user(token)
    except NotVisible:
        raise Http404 from None
    body = build_feed(user, host=request.get_host().split(":")[0], absolute_url=request.build_absolute_uri)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="kehu-tasks.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response
