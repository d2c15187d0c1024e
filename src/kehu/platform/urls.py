"""URL patterns every record type gets from the spine."""

from __future__ import annotations

from collections.abc import Callable

from django.http.response import HttpResponseBase
from django.urls import URLPattern, path

from kehu.platform import views
from kehu.platform.records import RecordType


def record_urlpatterns(rt: RecordType) -> list[URLPattern]:
    p = rt.plural

    def view(cls: type[views.RecordView]) -> Callable[..., HttpResponseBase]:
        return cls.as_view(rt=rt)

    return [
        path(f"{p}/", view(views.RecordListView), name=f"{p}_list"),
        path(f"{p}/filters/", view(views.RecordFiltersView), name=f"{p}_filters"),
        path(f"{p}/lookup/", view(views.RecordLookupView), name=f"{p}_lookup"),
        path(f"{p}/export.csv", view(views.RecordExportView), name=f"{p}_export"),
        path(f"{p}/export.xlsx", view(views.RecordExportView), {"fmt": "xlsx"}, name=f"{p}_export_xlsx"),
        path(f"{p}/new/", view(views.RecordCreateView), name=f"{p}_create"),
        path(f"{p}/trash/", view(views.RecordTrashView), name=f"{p}_trash"),
        path(f"{p}/bulk/", view(views.RecordBulkView), name=f"{p}_bulk"),
        path(f"{p}/views/", view(views.SavedViewCreateView), name=f"{p}_view_create"),
        path(f"{p}/views/<int:view_id>/delete/", view(views.SavedViewDeleteView), name=f"{p}_view_delete"),
        path(f"{p}/<int:pk>/", view(views.RecordDetailView), name=f"{p}_detail"),
        path(f"{p}/<int:pk>/edit/", view(views.RecordUpdateView), name=f"{p}_edit"),
        path(f"{p}/<int:pk>/delete/", view(views.RecordDeleteView), name=f"{p}_delete"),
        path(f"{p}/<int:pk>/restore/", view(views.RecordRestoreView), name=f"{p}_restore"),
        path(f"{p}/<int:pk>/history/", view(views.RecordHistoryView), name=f"{p}_history"),
        path(f"{p}/<int:pk>/related/<slug:child>/", view(views.RecordRelatedView), name=f"{p}_related"),
        path(f"{p}/<int:pk>/timeline/", view(views.RecordTimelineView), name=f"{p}_timeline"),
    ]
