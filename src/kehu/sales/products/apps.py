from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProductsConfig(AppConfig):
    name = "kehu.sales.products"
    label = "products"
    verbose_name = _("Products")

    def ready(self) -> None:
        from kehu.sales.products import records  # noqa: F401  (registers the record type)
