"""The tag settings pages."""

from __future__ import annotations

from django.urls import URLPattern, path

from kehu.platform.tags import views as tag_views

urlpatterns: list[URLPattern] = [
    path("settings/tags/", tag_views.tag_list, name="tag_settings"),
    path("settings/tags/<int:pk>/", tag_views.tag_edit, name="tag_settings_edit"),
    path("settings/tags/<int:pk>/delete/", tag_views.tag_delete_view, name="tag_settings_delete"),
]
