"""The exports page, downloads, and the contacts' vCard export and import."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views

urlpatterns: list[URLPattern] = [
    path("exports/", views.export_list, name="export_list"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
    path("contacts/export.vcf", views.contacts_export_vcf, name="contacts_export_vcf"),
    path("contacts/import-vcard/", views.contacts_import_vcard, name="contacts_import_vcard"),
    path("contacts/<int:pk>/vcard.vcf", views.contact_vcard, name="contacts_vcard"),
]
