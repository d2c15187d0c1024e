from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _may_review(user: Any) -> bool:
    from kehu.dataio.dedupe.selectors import reviewable_types

    return bool(getattr(user, "is_authenticated", False)) and bool(reviewable_types(user))


class DedupeConfig(AppConfig):
    name = "kehu.dataio.dedupe"
    label = "dedupe"
    verbose_name = _("Duplicates and merging")

    def ready(self) -> None:
        from kehu.dataio.dedupe.tasks import nightly_scan
        from kehu.platform import housekeeping
        from kehu.platform.records import NavLink, registry

        registry.add_nav_link(
            NavLink(
                group="data",
                key="duplicates",
                label=_("Duplicates"),
                url_name="duplicates",
                icon="ti-copy",
                visible=_may_review,
            )
        )
        housekeeping.register("dedupe-scan", nightly_scan, cron="30 2 * * *")
