from django.urls import path

from kehu.sales.contracts import views

urlpatterns = [
    path("contracts/<int:pk>/transition/", views.contract_transition, name="contract_transition"),
    path("contracts/<int:pk>/plan/", views.contract_plan, name="contract_plan"),
    path("contracts/<int:pk>/plan/split/", views.contract_plan_split, name="contract_plan_split"),
    path("contracts/<int:pk>/attachments/", views.attachment_upload, name="contract_attachment_upload"),
    path(
        "contracts/<int:pk>/attachments/<int:attachment_id>/",
        views.attachment_download,
        name="contract_attachment_download",
    ),
    path(
        "contracts/<int:pk>/attachments/<int:attachment_id>/delete/",
        views.attachment_delete,
        name="contract_attachment_delete",
    ),
    path("orders/<int:pk>/transition/", views.order_transition, name="order_transition"),
    path("orders/<int:pk>/lines/", views.order_lines, name="order_lines"),
    path("opportunities/<int:pk>/order/", views.order_from_opportunity, name="order_from_opportunity"),
    path("receivables/", views.receivables_page, name="receivables"),
    path("customers/<int:customer_id>/receivables/", views.customer_receivables, name="customer_receivables"),
]
