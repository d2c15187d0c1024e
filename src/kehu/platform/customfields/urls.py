"""The custom fields settings page, mounted at ``/settings/custom-fields/``."""

from __future__ import annotations

from django.urls import path

from kehu.platform.customfields import views

urlpatterns = [
    path("", views.customfield_list, name="customfield_list"),
    path("new/", views.customfield_create, name="customfield_create"),
    path("<int:pk>/", views.customfield_edit, name="customfield_edit"),
    path("<int:pk>/active/", views.customfield_toggle, name="customfield_toggle"),
    path("<int:pk>/move/", views.customfield_move, name="customfield_move"),
]
