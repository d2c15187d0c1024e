"""``/data-quality/`` (the report, "Scan now") and ``/settings/data-quality/`` (the policies)."""

from django.urls import path

from kehu.dataio.quality import views

urlpatterns = [
    path("data-quality/", views.report_page, name="data_quality"),
    path("data-quality/scan/", views.scan_now, name="data_quality_scan"),
    path("settings/data-quality/", views.policy_settings, name="data_quality_settings"),
]
