"""Notifications and the calendar feed."""

from __future__ import annotations

from django.urls import URLPattern, path

from kehu.automation import views

urlpatterns: list[URLPattern] = [
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/menu/", views.notification_menu, name="notification_menu"),
    path("notifications/badge/", views.notification_badge, name="notification_badge"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications_read_all"),
    path("notifications/<int:pk>/open/", views.notification_open, name="notification_open"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("calendar/", views.calendar_settings, name="calendar_settings"),
    path("calendar/reset/", views.calendar_reset, name="calendar_reset"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
]
