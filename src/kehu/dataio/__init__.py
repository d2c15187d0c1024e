"""Data in and out (DESIGN.md "dataio"): import, export, duplicate finding and merge, data
quality, backup and restore. Like ``kehu.sales``, a package of small apps, each with its own
models and migrations: ``imports``, ``exports``, ``dedupe``, ``quality`` and ``backup``."""
