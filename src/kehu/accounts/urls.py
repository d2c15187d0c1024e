from django.urls import path

from kehu.accounts import views

urlpatterns = [
    path("settings/language/", views.set_language, name="set_language"),
    path("settings/tokens/", views.token_list, name="token_list"),
    path("settings/tokens/<int:pk>/revoke/", views.token_revoke_view, name="token_revoke"),
]
