from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "kehu.activities"
    label = "activities"
    verbose_name = _("Activities")

    def ready(self) -> None:
        from kehu.activities import (
            reassign,  # noqa: F401  (open tasks follow their customers to a new owner)
            records,  # noqa: F401  (registers the record types)
            timeline,  # noqa: F401  (registers the timeline sources)
        )
