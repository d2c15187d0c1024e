from django.urls import URLPattern, URLResolver, path

from kehu.platform.records import registry
from kehu.platform.urls import record_urlpatterns
from kehu.web import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("audit/", views.audit_log, name="audit_log"),
]
for record_type in registry:
    urlpatterns += record_urlpatterns(record_type)
