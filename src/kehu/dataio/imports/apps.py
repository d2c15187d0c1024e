from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "kehu.dataio.imports"
    label = "imports"
    verbose_name = _("Imports")

    def ready(self) -> None:
        from kehu.dataio.imports import orders, tasks  # noqa: F401  (orders with lines; the task and file sweep)
        from kehu.platform.records import NavLink, registry

        # The "Data" menu: imports here; exports, duplicates and data quality add their links.
        registry.name_group("data", _("Data"))
        registry.add_nav_link(
            NavLink(
                group="data",
                key="imports",
                label=_("Imports"),
                url_name="import_list",
                icon="ti-file-import",
                visible=_may_import,
            )
        )


def _may_import(user: object) -> bool:
    from kehu.dataio.imports.views import importable_types

    return bool(importable_types(user))
