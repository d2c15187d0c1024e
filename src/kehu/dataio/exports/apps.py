from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExportsConfig(AppConfig):
    name = "kehu.dataio.exports"
    label = "exports"
    verbose_name = _("Exports")

    def ready(self) -> None:
        from kehu.dataio.exports import services  # noqa: F401  (the background task and the file sweep)
        from kehu.platform.records import NavLink, registry

        registry.add_nav_link(
            NavLink(
                group="data",
                key="exports",
                label=_("Exports"),
                url_name="export_list",
                icon="ti-file-export",
                visible=lambda user: bool(getattr(user, "is_authenticated", False)),
            )
        )
