from django.urls import path

from kehu.sales.products import currency_views, views
from kehu.sales.products.records import PRODUCT

urlpatterns = [
    # The product form with its prices: before the spine's /products/ routes, same names.
    path("products/new/", views.ProductCreateView.as_view(rt=PRODUCT), name="products_create"),
    path("products/<int:pk>/edit/", views.ProductUpdateView.as_view(rt=PRODUCT), name="products_edit"),
    path("products/<int:pk>/prices/", views.product_prices, name="product_prices"),
    path("settings/product-categories/", views.category_settings, name="product_category_settings"),
    path("settings/product-categories/<int:pk>/", views.category_edit, name="product_category_edit"),
    path("settings/product-categories/<int:pk>/delete/", views.category_delete, name="product_category_delete"),
    path("settings/currencies/", currency_views.currency_settings, name="currency_settings"),
    path("settings/currencies/rates/<int:pk>/", currency_views.rate_edit, name="exchange_rate_edit"),
    path("settings/currencies/import/", currency_views.rate_import, name="exchange_rate_import"),
]
