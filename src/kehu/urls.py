from django.contrib import admin
from django.urls import include, path

from kehu.api.api import api
from kehu.platform import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/v1/", api.urls),
    path("accounts/", include("allauth.urls")),
    path("django-admin/", admin.site.urls),
    path("", include("kehu.accounts.urls")),
    path("", include("kehu.platform.tags.urls")),  # /settings/tags/
    path("settings/custom-fields/", include("kehu.platform.customfields.urls")),
    path("", include("kehu.customers.urls")),  # /customers/<pk>/stage/, /settings/lifecycle/, /settings/grades/
    path("", include("kehu.customers.reassign_views")),  # /customers/reassign/, /customers/<pk>/reassign/
    path("", include("kehu.automation.urls")),  # /notifications/, /calendar/
    path("", include("kehu.activities.urls")),  # /my-day/, /customers/<id>/log/, /tasks/<id>/complete/
    path("", include("kehu.sales.products.urls")),  # product form, /settings/currencies/, /settings/product-categories/
    path("", include("kehu.sales.contracts.urls")),  # /receivables/, contract plan/attachments, order lines
    path("", include("kehu.sales.opportunities.urls")),  # board, forecast, quotas, moves, /settings/pipelines/
    path("", include("kehu.dataio.quality.urls")),  # /data-quality/, /settings/data-quality/
    path("", include("kehu.dataio.imports.urls")),  # /imports/… (the import wizard)
    path("", include("kehu.dataio.exports.urls")),  # /exports/, /contacts/export.vcf, /contacts/import-vcard/
    path("", include("kehu.dataio.dedupe.urls")),  # /duplicates/… (review queue, merge, undo)
    path("", include("kehu.web.urls")),
]

handler404 = "kehu.web.views.page_not_found"  # problem+json under /api/
