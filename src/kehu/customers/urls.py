"""Pages of the customers module besides the spine's record pages."""

from __future__ import annotations

from django.urls import URLPattern, path

from kehu.customers import views

urlpatterns: list[URLPattern] = [
    path("customers/<int:pk>/stage/", views.customer_lifecycle, name="customer_lifecycle"),
    path("settings/lifecycle/", views.lifecycle_settings, name="lifecycle_settings"),
    path("settings/lifecycle/<int:pk>/", views.lifecycle_stage_edit, name="lifecycle_settings_edit"),
    path("settings/lifecycle/<int:pk>/move/", views.lifecycle_stage_move, name="lifecycle_settings_move"),
    path("settings/grades/", views.grade_settings, name="grade_settings"),
    path("settings/grades/<int:pk>/", views.grade_edit, name="grade_settings_edit"),
    path("settings/grades/<int:pk>/move/", views.grade_move, name="grade_settings_move"),
    path("settings/grades/<int:pk>/delete/", views.grade_delete, name="grade_settings_delete"),
]
