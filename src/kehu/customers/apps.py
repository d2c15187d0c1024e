from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "kehu.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from kehu.customers import reassign, records, timeline  # noqa: F401  (registers the record types, timeline sources)

        reassign.install()  # "Reassign" on the customer list's bulk bar

        from django.db.models.signals import post_migrate

        from kehu.customers.lifecycle import ensure_default_stages

        post_migrate.connect(ensure_default_stages, sender=self)  # also after a flush (tests)
