from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackupConfig(AppConfig):
    name = "kehu.dataio.backup"
    label = "backup"
    verbose_name = _("Backup and restore")

    def ready(self) -> None:
        from kehu.dataio.backup import schedule  # noqa: F401  (registers the scheduled-backup sweep)
