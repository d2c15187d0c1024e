from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "kehu.automation"
    label = "automation"
    verbose_name = _("Automation")

    def ready(self) -> None:
        from kehu.automation import reminders  # noqa: F401  (subscribes to task events)
