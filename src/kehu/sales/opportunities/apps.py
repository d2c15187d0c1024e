from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpportunitiesConfig(AppConfig):
    name = "kehu.sales.opportunities"
    label = "opportunities"
    verbose_name = _("Opportunities")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from kehu.sales.opportunities import (
            reassign,  # noqa: F401  (open opportunities follow their customers to a new owner)
            records,  # noqa: F401  (registers the record type, the customer tab, panel and timeline)
        )
        from kehu.sales.opportunities.pipelines import ensure_default_pipelines

        post_migrate.connect(ensure_default_pipelines, sender=self)  # also after a flush (tests)
