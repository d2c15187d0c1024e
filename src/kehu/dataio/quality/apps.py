from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityConfig(AppConfig):
    name = "kehu.dataio.quality"
    label = "quality"
    verbose_name = _("Data quality")

    def ready(self) -> None:
        from kehu.dataio.quality import filters, signals, tasks  # noqa: F401  (event subscriber, sweep)
        from kehu.dataio.quality.services import can_view_report
        from kehu.platform.records import NavLink, registry

        filters.install()  # ?quality=… on every record type's list, API list and export
        registry.name_group("data", _("Data"))
        registry.add_nav_link(
            NavLink(
                group="data",
                key="data_quality",
                label=_("Data quality"),
                url_name="data_quality",
                icon="ti-checklist",
                visible=can_view_report,
            )
        )
