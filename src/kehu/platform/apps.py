from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlatformConfig(AppConfig):
    name = "kehu.platform"
    label = "platform"
    verbose_name = _("Platform")

    def ready(self) -> None:
        from kehu.platform import audit, search, signals, statistics, timeline  # noqa: F401  (receivers, sweeps)
        from kehu.platform.requestlog import configure_structlog

        configure_structlog()
