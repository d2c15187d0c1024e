from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContractsConfig(AppConfig):
    name = "kehu.sales.contracts"
    label = "contracts"
    verbose_name = _("Contracts and orders")

    def ready(self) -> None:
        from kehu.sales.contracts import (  # noqa: F401  (record types, timeline, metrics, followers, sweep)
            expiry,
            metrics,
            reassign,
            records,
            timeline,
        )
