from django.urls import path

from kehu.activities import views

urlpatterns = [
    path("my-day/", views.my_day, name="my_day"),
    path("customers/<int:customer_id>/log/", views.quick_log, name="interaction_quick_log"),
    path("customers/<int:customer_id>/tasks/", views.customer_tasks, name="customer_tasks"),
    path("tasks/<int:pk>/complete/", views.task_complete, name="task_complete"),
    path("tasks/<int:pk>/reopen/", views.task_reopen, name="task_reopen"),
]
