from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "kehu.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from kehu.customers import records  # noqa: F401  (registers the record types)
