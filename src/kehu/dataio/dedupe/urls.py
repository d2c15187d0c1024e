from django.urls import path

from kehu.dataio.dedupe import views

urlpatterns = [
    path("duplicates/", views.duplicate_list, name="duplicates"),
    path("duplicates/scan/", views.duplicate_scan, name="duplicate_scan"),
    path("duplicates/merge/", views.duplicate_bulk_merge, name="duplicate_bulk_merge"),
    path("duplicates/<int:pk>/", views.duplicate_detail, name="duplicate_detail"),
    path("duplicates/merges/<int:pk>/undo/", views.merge_undo, name="merge_undo"),
]
