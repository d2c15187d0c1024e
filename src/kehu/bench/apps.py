from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BenchConfig(AppConfig):
    """``kehu bench``: the benchmark data generator (the suite itself lives in benchmarks/)."""

    name = "kehu.bench"
    label = "bench"
    verbose_name = _("Benchmarks")
