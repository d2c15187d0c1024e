from django.urls import path

from kehu.sales.opportunities import views

urlpatterns = [
    path("opportunities/board/", views.board, name="opportunity_board"),
    path("opportunities/forecast/", views.forecast, name="opportunity_forecast"),
    path("opportunities/quotas/", views.quotas, name="opportunity_quotas"),
    path("opportunities/<int:pk>/move/", views.move, name="opportunity_move"),
    path("customers/<int:customer_id>/opportunities/", views.customer_opportunities, name="customer_opportunities"),
    path("settings/pipelines/", views.pipeline_settings, name="pipeline_settings"),
]
